package io.berth.auth.trust;

/**
 * A claim about an image that a signature proved.
 *
 * @param claim signed, or attested with a predicate type
 * @param key the policy key that made the signature
 * @param artifact the digest of the manifest that carried it
 * @param layer the position of the layer that held it among the manifest's layers, from 0
 */
public record VerifiedClaim(Claim claim, TrustKey key, String artifact, int layer) {}
