package io.berth.auth.trust;

import java.nio.file.Path;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One entry of {@code berth.trust}: the repositories whose images must be signed, the public keys a signature may be
 * made with, and the attestations each image also needs. {@link TrustPolicy} checks the entries and applies the
 * first whose repositories match.
 *
 * @param repositories repository globs, as in {@code berth.access}: {@code *} within one path segment, {@code **}
 *     across segments
 * @param keys PEM files of public keys ({@code -----BEGIN PUBLIC KEY-----}, as {@code cosign generate-key-pair}
 *     writes {@code cosign.pub}): ECDSA P-256, P-384 or P-521, Ed25519, or RSA of at least 2048 bits. A file may
 *     hold several keys. The files are read again when they change
 * @param attestations in-toto predicate type URIs ({@code https://slsa.dev/provenance/v1}, say), each of which
 *     needs a valid attestation by one of the keys besides the signature; empty when only a signature is needed
 */
public record TrustRule(List<String> repositories, List<Path> keys, List<String> attestations) {
    /** Copies the lists, so that later changes to the caller's collections do not leak in; no attestations if null. */
    public TrustRule(List<String> repositories, List<Path> keys, @Nullable List<String> attestations) {
        this.repositories = List.copyOf(repositories);
        this.keys = List.copyOf(keys);
        this.attestations = attestations == null ? List.of() : List.copyOf(attestations);
    }

    /** A rule that needs only a signature. */
    public static TrustRule of(List<String> repositories, Path... keys) {
        return new TrustRule(repositories, List.of(keys), List.of());
    }
}
