package io.berth.auth.trust;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * cosign's legacy signature format (its {@code SIGNATURE_SPEC.md}): a layer of the {@code sha256-<hex>.sig} tag
 * holds a "simple signing" payload, and the layer's {@value #SIGNATURE_ANNOTATION} annotation holds the base64
 * signature over the layer's exact bytes. The payload names the image by
 * {@code critical.image.docker-manifest-digest}; {@code critical.identity.docker-reference} is informational, as in
 * cosign, so that a signature survives a copy to another registry.
 */
final class SimpleSigning {
    static final String MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
    static final String SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
    static final String TYPE = "cosign container image signature";

    private SimpleSigning() {}

    /** The key that signed the payload for exactly {@code subject}. */
    static TrustKey check(Manifest.Layer layer, byte[] payload, String subject, PolicyRule rule) throws Refusal {
        String encoded = layer.annotations().get(SIGNATURE_ANNOTATION);
        if (encoded == null) {
            throw new Refusal("has no " + SIGNATURE_ANNOTATION + " annotation");
        }
        byte[] signature = Base64s.decode(encoded, "the signature annotation");
        TrustKey key = Signatures.signerOf(rule.keys(), payload, signature);
        if (key == null) {
            throw new Refusal(noKey(rule));
        }
        JsonNode root = StrictJson.object(payload, "the simple-signing payload");
        JsonNode critical = StrictJson.object(root, "critical", "the simple-signing payload");
        String type = StrictJson.string(critical, "type", "the payload's critical section");
        if (!type.equals(TYPE)) {
            throw new Refusal("the payload's critical.type is " + Text.quote(type) + ", not \"" + TYPE + "\"");
        }
        JsonNode image = StrictJson.object(critical, "image", "the payload's critical section");
        String digest = StrictJson.string(image, "docker-manifest-digest", "the payload's critical.image");
        if (!digest.equals(subject)) {
            throw new Refusal("the payload signs " + Digests.describe(digest) + ", not " + subject);
        }
        return key;
    }

    /** The refusal for a signature none of the rule's keys made. */
    static String noKey(PolicyRule rule) {
        int count = rule.keys().size();
        return count == 1
                ? "the signature was not made by the key of " + rule.name()
                : "the signature was made by none of the " + count + " keys of " + rule.name();
    }
}
