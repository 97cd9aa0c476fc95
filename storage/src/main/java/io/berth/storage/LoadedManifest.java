package io.berth.storage;

import org.jspecify.annotations.Nullable;

/**
 * A stored manifest's bytes with what was parsed from them: what both storages cache by digest, since a manifest's
 * bytes never change.
 */
public record LoadedManifest(byte[] content, ParsedManifest parsed) {
    /** The manifest as the storage API returns it, stored under {@code digest}. */
    public StoredManifest stored(Digest digest) {
        return new StoredManifest(digest, parsed.mediaType(), content, subject());
    }

    /** The digest of the manifest's subject, or null when it has none. */
    public @Nullable Digest subject() {
        return parsed.subject() == null ? null : parsed.subject().digest();
    }

    /** The manifest as a referrers list names it. */
    public Descriptor referrer(Digest digest) {
        return new Descriptor(parsed.mediaType(), digest, content.length, parsed.artifactType(), parsed.annotations());
    }
}
