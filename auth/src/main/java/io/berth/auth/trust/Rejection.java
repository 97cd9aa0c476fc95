package io.berth.auth.trust;

/**
 * Why a manifest, or one of its layers, proves nothing about an image: for logs and admission messages. Text that
 * came from the artifact is quoted and cut short in the reason.
 *
 * @param artifact the manifest's digest, as given (quoted in the reason if it was not a valid digest)
 * @param reason a short sentence: {@code layer 0: the signature verifies with none of the 2 keys of berth.trust[0]}
 */
public record Rejection(String artifact, String reason) {
    @Override
    public String toString() {
        return Digests.describe(artifact) + ": " + reason;
    }
}
