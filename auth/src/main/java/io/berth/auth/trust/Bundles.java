package io.berth.auth.trust;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Sigstore bundles ({@code application/vnd.dev.sigstore.bundle.v0.3+json}), as cosign v3 pushes them: one bundle
 * layer in a referrer manifest whose {@code subject} is the image.
 *
 * <p>{@code cosign sign} (v3) signs a DSSE envelope holding an in-toto statement about the image digest with the
 * predicate type {@value Claim#COSIGN_SIGN_PREDICATE}, which is a signature; {@code cosign attest} signs one with
 * the attestation's predicate type. A bundle may instead hold a message signature over the image's digest, which
 * is a signature when that digest is the image's.
 *
 * <p>Only the signature is checked, against the policy's keys. Transparency-log entries and timestamps in the
 * bundle are not: the keys are the trust, as with {@code cosign verify --key --insecure-ignore-tlog}. A keyless
 * bundle (a Fulcio certificate) verifies only if its certificate's key is one of the policy's keys.
 */
final class Bundles {
    static final String MEDIA_TYPE_PREFIX = "application/vnd.dev.sigstore.bundle";

    private Bundles() {}

    static boolean isBundle(String mediaType) {
        return mediaType.startsWith(MEDIA_TYPE_PREFIX);
    }

    static Dsse.Proof check(byte[] content, String subject, PolicyRule rule) throws Refusal {
        JsonNode bundle = StrictJson.object(content, "the bundle");
        String mediaType = StrictJson.string(bundle, "mediaType", "the bundle");
        if (!isBundle(mediaType)) {
            throw new Refusal("the bundle's mediaType is " + Text.quote(mediaType) + ", not a sigstore bundle");
        }
        JsonNode envelope = bundle.get("dsseEnvelope");
        JsonNode message = bundle.get("messageSignature");
        if ((envelope == null) == (message == null)) {
            throw new Refusal(envelope == null
                    ? "the bundle has neither a dsseEnvelope nor a messageSignature"
                    : "the bundle has both a dsseEnvelope and a messageSignature");
        }
        try {
            return envelope != null
                    ? Dsse.check(Dsse.parse(envelope, "the bundle's dsseEnvelope"), subject, rule)
                    : messageSignature(message, subject, rule);
        } catch (Refusal refusal) {
            if (refusal.getMessage().startsWith(SimpleSigning.noKey(rule)) && isKeyless(bundle)) {
                throw new Refusal(refusal.getMessage() + " (the bundle is keyless, with a certificate; Berth checks"
                        + " signatures against the policy's public keys only)");
            }
            throw refusal;
        }
    }

    private static Dsse.Proof messageSignature(JsonNode node, String subject, PolicyRule rule) throws Refusal {
        String what = "the bundle's messageSignature";
        if (!node.isObject()) {
            throw new Refusal(what + " is not an object");
        }
        JsonNode messageDigest = StrictJson.object(node, "messageDigest", what);
        String algorithm = StrictJson.string(messageDigest, "algorithm", what + "'s messageDigest");
        String jcaName = switch (algorithm) {
            case "SHA2_256" -> "SHA-256";
            case "SHA2_384" -> "SHA-384";
            case "SHA2_512" -> "SHA-512";
            default -> throw new Refusal(what + " has the digest algorithm " + Text.quote(algorithm)
                    + "; SHA2_256, SHA2_384 or SHA2_512 are read");
        };
        byte[] digest = Base64s.decode(StrictJson.string(messageDigest, "digest", what + "'s messageDigest"),
                what + "'s digest");
        byte[] signature = Base64s.decode(StrictJson.string(node, "signature", what), what + "'s signature");
        TrustKey key = Signatures.signerOfDigest(rule.keys(), jcaName, digest, signature);
        if (key == null) {
            throw new Refusal(SimpleSigning.noKey(rule));
        }
        if (!jcaName.equals(Digests.jcaName(subject))
                || !MessageDigest.isEqual(digest, Digests.bytes(subject))) {
            throw new Refusal("the message signature signs another digest ("
                    + algorithm.toLowerCase(Locale.ROOT) + ":"
                    + HexFormat.of().formatHex(digest, 0, Math.min(digest.length, 64)) + "), not " + subject);
        }
        return new Dsse.Proof(Claim.signature(), key);
    }

    private static boolean isKeyless(JsonNode bundle) {
        JsonNode material = bundle.get("verificationMaterial");
        return material != null && (material.has("certificate") || material.has("x509CertificateChain"));
    }
}
