package io.berth.auth.trust;

import java.util.Objects;

/**
 * A manifest that may carry signatures or attestations for an image: the manifest of a {@code sha256-<hex>.sig} or
 * {@code .att} tag, or a referrer whose {@code subject} is the image. Its layers are read through a
 * {@link BlobReader} when it is checked.
 */
public final class Artifact {
    private final String digest;
    private final byte[] manifest;

    private Artifact(String digest, byte[] manifest) {
        this.digest = digest;
        this.manifest = manifest;
    }

    /**
     * An artifact of the manifest's exact bytes, as stored, and its digest ({@code sha256:...}). Neither is trusted:
     * the bytes must hash to the digest, or the artifact is refused. The bytes are copied.
     */
    public static Artifact of(String digest, byte[] manifest) {
        return new Artifact(Objects.requireNonNull(digest, "digest"), manifest.clone());
    }

    /** The manifest's digest, as given. */
    public String digest() {
        return digest;
    }

    byte[] manifest() {
        return manifest;
    }

    @Override
    public String toString() {
        return "Artifact[" + Digests.describe(digest) + ", " + manifest.length + " bytes]";
    }
}
