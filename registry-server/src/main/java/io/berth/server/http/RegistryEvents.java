package io.berth.server.http;

import io.berth.server.events.Event;
import io.berth.storage.Digest;
import io.berth.storage.RepositoryName;
import io.berth.storage.StoredManifest;
import org.jspecify.annotations.Nullable;

/**
 * The events registry:2 sends for what the endpoints do, with its targets: a manifest pushed or pulled (with its
 * tag when named by one, and its references with {@code includereferences}), a blob pushed, pulled or mounted
 * ({@code application/octet-stream}, as registry:2 describes stored blobs), and deletes of a manifest, a tag or a
 * blob. Nothing is built when no endpoint is configured.
 */
final class RegistryEvents {
    private static final String BLOB_MEDIA_TYPE = "application/octet-stream";

    private RegistryEvents() {}

    static void manifest(RegistryContext registry, Exchange ex, String action, RepositoryName repository, StoredManifest m, @Nullable String tag) {
        if (!registry.notifying()) {
            return;
        }
        Event e = registry.event(action).descriptor(m.mediaType(), m.content().length, m.digest().toString())
                .repository(repository.value())
                .url(registry.absoluteUrl(ex, "/v2/" + repository + "/manifests/" + m.digest()))
                .tag(tag);
        if (registry.eventReferences()) {
            e.references(m.content());
        }
        registry.publish(ex, e);
    }

    static void blob(RegistryContext registry, Exchange ex, String action, RepositoryName repository, Digest digest, long size,
            @Nullable RepositoryName from) {
        if (!registry.notifying()) {
            return;
        }
        Event e = registry.event(action).descriptor(BLOB_MEDIA_TYPE, size, digest.toString()).repository(repository.value());
        if (from != null) {
            e.fromRepository(from.value());
        }
        registry.publish(ex, e.url(registry.absoluteUrl(ex, "/v2/" + repository + "/blobs/" + digest)));
    }

    /** A delete: of a manifest or a blob by {@code digest}, or of a tag. */
    static void deleted(RegistryContext registry, Exchange ex, RepositoryName repository, @Nullable Digest digest, @Nullable String tag) {
        if (!registry.notifying()) {
            return;
        }
        Event e = registry.event("delete");
        if (digest != null) {
            e.digest(digest.toString());
        }
        registry.publish(ex, e.repository(repository.value()).tag(tag));
    }
}
