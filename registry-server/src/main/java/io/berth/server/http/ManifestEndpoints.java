package io.berth.server.http;

import io.berth.auth.TagPolicy;
import io.berth.storage.Digest;
import io.berth.storage.Problem;
import io.berth.storage.Reference;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import io.berth.storage.StoredManifest;
import io.berth.storage.Tag;
import io.berth.storage.TagGuard;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** GET, HEAD, PUT and DELETE of manifests. Manifest bodies are the only ones held in memory, up to a limit. */
final class ManifestEndpoints {
    static final String DOCKER_CONTENT_DIGEST = "Docker-Content-Digest";

    private final RegistryContext registry;
    private final TagGuard guard;

    ManifestEndpoints(RegistryContext registry) {
        this.registry = registry;
        this.guard = tagGuard(registry.tagPolicy());
    }

    /**
     * {@code berth.immutableTags} and {@code berth.denyTags} as the storage checks them, under its per-repository
     * lock and together with the writes: a denial is DENIED (403) naming the rule.
     */
    static TagGuard tagGuard(TagPolicy policy) {
        return new TagGuard() {
            @Override
            public @Nullable String protection(RepositoryName repository, Tag tag) {
                return policy.immutability(repository.value(), tag.value());
            }

            @Override
            public @Nullable String refusePush(RepositoryName repository, Tag tag, @Nullable Digest current, Digest next) {
                return policy.checkPush(repository.value(), tag.value(), current == null ? null : current.toString(),
                        next.toString()) instanceof TagPolicy.Decision.Denied denied ? denied.message() : null;
            }
        };
    }

    Reply get(Exchange ex) {
        Reference reference = readReference(ex);
        var proxy = registry.proxyFor(ex.route().repository());
        StoredManifest m = proxy == null ? registry.storage().getManifest(ex.route().repository(), reference)
                : RegistryContext.fromUpstream(() -> proxy.manifest(ex.route().repository(), reference,
                        ex.request().headers().contains(HttpHeaderNames.ACCEPT) ? String.join(", ", ex.request().headers().getAll(HttpHeaderNames.ACCEPT)) : io.berth.server.proxy.Upstream.ANY_MANIFEST));
        String etag = "\"" + m.digest() + "\"";
        if (etag.equals(ex.header(HttpHeaderNames.IF_NONE_MATCH))) {
            FullHttpResponse r = Responses.empty(HttpResponseStatus.NOT_MODIFIED);
            r.headers().set(HttpHeaderNames.ETAG, etag);
            return Reply.of(r);
        }
        RegistryEvents.manifest(registry, ex, "pull", ex.route().repository(), m, reference instanceof Reference.ByTag t ? t.tag().value() : null);
        FullHttpResponse r = Responses.bytes(HttpResponseStatus.OK, m.mediaType(), m.content());
        r.headers().set(DOCKER_CONTENT_DIGEST, m.digest().toString());
        r.headers().set(HttpHeaderNames.ETAG, etag);
        return Reply.of(r);
    }

    Reply delete(Exchange ex) {
        registry.requireDeletable(ex);
        RepositoryName name = ex.route().repository();
        Reference reference = readReference(ex);
        // registry:2 deletes the tags of a manifest deleted by digest, and sends a delete event for each.
        List<Tag> tags = reference instanceof Reference.ByDigest d && registry.notifying() ? registry.storage().tagsOf(name, d.digest()) : List.of();
        registry.storage().deleteManifest(name, reference, guard);
        switch (reference) {
            case Reference.ByDigest d -> {
                RegistryEvents.deleted(registry, ex, name, d.digest(), null);
                for (Tag t : tags) {
                    RegistryEvents.deleted(registry, ex, name, null, t.value());
                }
            }
            case Reference.ByTag t -> RegistryEvents.deleted(registry, ex, name, null, t.tag().value());
        }
        return Reply.of(Responses.empty(HttpResponseStatus.ACCEPTED));
    }

    /**
     * The reference of a read or delete. A malformed digest is DIGEST_INVALID (400); a string that can
     * be no tag names no manifest, so it is MANIFEST_UNKNOWN (404), as the conformance suite expects.
     */
    private static Reference readReference(Exchange ex) {
        String raw = ex.route().reference();
        try {
            return Reference.parse(raw);
        } catch (StorageException e) {
            if (e.problem() == Problem.TAG_INVALID) {
                throw new HttpError(ErrorCode.MANIFEST_UNKNOWN, "manifest unknown: " + e.getMessage());
            }
            throw e;
        }
    }

    BodySink put(Exchange ex) {
        registry.requireWritable(ex);
        Reference reference = Reference.parse(ex.route().reference());
        List<Tag> tags = new ArrayList<>();
        if (reference instanceof Reference.ByTag t) {
            tags.add(t.tag());
        }
        for (String extra : ex.params("tag")) {
            Tag tag = Tag.of(extra);
            if (!tags.contains(tag)) {
                tags.add(tag);
            }
        }
        BufferedBody body = new BufferedBody(registry.bodyBudget(), registry.config().manifestMaxBytes(),
                HttpUtil.getContentLength(ex.request(), -1L), ManifestEndpoints::tooLarge);
        Digest expected = reference instanceof Reference.ByDigest d ? d.digest() : null;
        return new ManifestBody(ex, expected, tags, body);
    }

    private static HttpError tooLarge(long max) {
        return new HttpError(ErrorCode.SIZE_INVALID, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                "manifest exceeds the limit of " + max + " bytes");
    }

    /** Collects a manifest body up to the limit, within the shared budget of buffered bodies, then stores it. */
    private final class ManifestBody implements BodySink {
        private final Exchange ex;
        private final @Nullable Digest expected;
        private final List<Tag> tags;
        private final BufferedBody body;

        ManifestBody(Exchange ex, @Nullable Digest expected, List<Tag> tags, BufferedBody body) {
            this.ex = ex;
            this.expected = expected;
            this.tags = tags;
            this.body = body;
        }

        @Override
        public void content(ByteBuf content) {
            body.add(content);
        }

        @Override
        public Reply finish() {
            try {
                return store();
            } finally {
                body.release();
            }
        }

        private Reply store() {
            RepositoryName name = ex.route().repository();
            String contentType = ex.header(HttpHeaderNames.CONTENT_TYPE);
            if (contentType != null) {
                int semi = contentType.indexOf(';');
                contentType = (semi < 0 ? contentType : contentType.substring(0, semi)).strip();
            }
            StoredManifest m = registry.storage().putManifest(name, body.bytes(),
                    contentType == null || contentType.isEmpty() ? null : contentType, expected, tags, guard);
            // Verified once, on arrival: the signed image's verdict is made now, not at its first admission.
            if (m.subject() != null) {
                registry.verdicts().refresh(name, m.subject());
            }
            for (Tag tag : tags) {
                Digest signed = io.berth.server.admission.LocalVerdicts.signedBy(tag);
                if (signed != null) {
                    registry.verdicts().refresh(name, signed);
                }
            }
            if (tags.isEmpty()) {
                RegistryEvents.manifest(registry, ex, "push", name, m, null);
            }
            for (Tag tag : tags) {
                RegistryEvents.manifest(registry, ex, "push", name, m, tag.value());
            }
            FullHttpResponse r = Responses.empty(HttpResponseStatus.CREATED);
            r.headers().set(HttpHeaderNames.LOCATION, registry.url(ex, "/v2/" + name + "/manifests/" + m.digest()));
            r.headers().set(DOCKER_CONTENT_DIGEST, m.digest().toString());
            for (Tag tag : tags) {
                r.headers().add("OCI-Tag", tag.value());
            }
            if (m.subject() != null) {
                r.headers().set("OCI-Subject", m.subject().toString());
            }
            return Reply.of(r);
        }

        @Override
        public void abort() {
            body.release();
        }
    }
}
