package io.berth.server.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.berth.auth.trust.TrustPolicy;
import io.berth.storage.Digest;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Verdicts for images in another registry (Harbor, Nexus, registry:2 …), for the standalone webhook
 * ({@code berth admission}): the same checks as Berth's own, with the manifest and signatures fetched over HTTPS
 * through the referrers API and the tag fallback. A verdict is kept for {@code ttl}, so a deleted signature or a
 * new one is seen within it; an unreachable registry refuses (fail closed) and is asked again next time. Thread-safe.
 */
public final class RemoteVerdicts implements ImageVerdicts {
    private record Key(RepositoryName repository, Digest digest, long trustGeneration) {}

    private record Verdict(@Nullable String refusal) {}

    private final RemoteRegistry registry;
    private final TrustCheck check;
    private final Cache<Key, Verdict> verdicts;
    private final Source source;

    public RemoteVerdicts(RemoteRegistry registry, TrustPolicy policy, Duration ttl) {
        this.registry = registry;
        this.check = new TrustCheck(policy);
        this.verdicts = Caffeine.newBuilder().maximumSize(100_000).expireAfterWrite(ttl).build();
        this.source = new Source(registry);
    }

    @Override
    public @Nullable String refusal(RepositoryName repository, Digest digest) {
        Key key = new Key(repository, digest, check.generation());
        Verdict cached = verdicts.getIfPresent(key);
        if (cached != null) {
            return cached.refusal();
        }
        Verdict v;
        try {
            v = new Verdict(registry.manifest(repository, digest) == null
                    ? "manifest " + digest + " is not in the registry under " + repository
                    : check.refusal(source, repository, digest));
        } catch (IOException | RuntimeException e) {
            return "cannot check " + repository + "@" + digest + " at the registry: " + Messages.clip(String.valueOf(e.getMessage()));
        }
        verdicts.put(key, v);
        return v.refusal();
    }

    /** The remote registry as a {@link SignatureSource}. */
    private record Source(RemoteRegistry registry) implements SignatureSource {
        @Override
        public byte @Nullable [] manifest(RepositoryName repository, Digest digest) throws IOException {
            RemoteRegistry.Body b = registry.manifest(repository, digest);
            return b == null ? null : b.bytes();
        }

        @Override
        public List<Digest> referrers(RepositoryName repository, Digest subject) throws IOException {
            JsonNode index = registry.referrers(repository, subject);
            List<Digest> out = new ArrayList<>();
            if (index != null) {
                for (JsonNode d : index.path("manifests")) {
                    try {
                        out.add(Digest.parse(d.path("digest").asText("")));
                    } catch (StorageException e) {
                        // not a digest: nothing to check
                    }
                }
            }
            return out;
        }

        @Override
        public @Nullable Digest tag(RepositoryName repository, String tag) throws IOException {
            return registry.tag(repository, tag);
        }

        @Override
        public byte @Nullable [] blob(RepositoryName repository, Digest digest, long size) throws IOException {
            if (size > RemoteRegistry.MAX_BYTES) {
                return null;
            }
            byte[] b = registry.blob(repository, digest);
            return b == null || b.length != size ? null : b;
        }
    }
}
