package io.berth.auth.trust;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;

/** Signature artifacts laid out as cosign writes them, signed with test keys. */
final class Cosign {
    static final String SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";
    static final String DSSE = "application/vnd.dsse.envelope.v1+json";
    static final String BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json";
    static final String SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
    static final String SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";
    static final String SLSA = "https://slsa.dev/provenance/v1";
    static final String IN_TOTO = "application/vnd.in-toto+json";

    private Cosign() {}

    /** The simple-signing payload cosign signs for an image. */
    static byte[] payload(String digest) {
        return payload(digest, "cosign container image signature");
    }

    static byte[] payload(String digest, String type) {
        return ("{\"critical\":{\"identity\":{\"docker-reference\":\"registry.example/app\"},\"image\":"
                + "{\"docker-manifest-digest\":\"" + digest + "\"},\"type\":\"" + type + "\"},\"optional\":null}")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** A .sig layer: the payload, signed by the key in the signature annotation. */
    static FakeRegistry.Layer simpleSigning(TestKey key, byte[] payload) {
        return new FakeRegistry.Layer(SIMPLE_SIGNING, payload,
                Map.of(SIGNATURE_ANNOTATION, base64(key.sign(payload))));
    }

    /** An in-toto v1 statement about the digest, as cosign v3 writes it. */
    static byte[] statement(String digest, String predicateType) {
        String hex = digest.substring("sha256:".length());
        return ("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"registry.example/app\","
                + "\"digest\":{\"sha256\":\"" + hex + "\"}}],\"predicateType\":\"" + predicateType
                + "\",\"predicate\":{\"buildType\":\"test\",\"nested\":{\"a\":[1,2,{\"b\":null}]}}}")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** DSSE's pre-authentication encoding, written out here from the DSSE spec. */
    static byte[] pae(String payloadType, byte[] payload) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(String.format("DSSEv1 %d %s %d ", payloadType.getBytes(StandardCharsets.UTF_8).length,
                payloadType, payload.length).getBytes(StandardCharsets.UTF_8));
        out.writeBytes(payload);
        return out.toByteArray();
    }

    static ObjectNode envelope(TestKey key, byte[] payload) {
        return envelope(payloadBase64(payload), IN_TOTO, key.sign(pae(IN_TOTO, payload)));
    }

    static ObjectNode envelope(String payloadBase64, String payloadType, byte[] signature) {
        ObjectNode envelope = FakeRegistry.JSON.createObjectNode();
        envelope.put("payloadType", payloadType);
        envelope.put("payload", payloadBase64);
        ObjectNode sig = envelope.putArray("signatures").addObject();
        sig.put("keyid", "");
        sig.put("sig", base64(signature));
        return envelope;
    }

    /** A legacy .att layer: the DSSE envelope, with the empty signature annotation cosign v2 writes. */
    static FakeRegistry.Layer attestation(ObjectNode envelope) {
        return new FakeRegistry.Layer(DSSE, FakeRegistry.bytes(envelope), Map.of(SIGNATURE_ANNOTATION, ""));
    }

    /** A v0.3 bundle around a DSSE envelope, with a public-key hint as cosign v3 writes for --key. */
    static byte[] bundle(ObjectNode envelope) {
        ObjectNode bundle = bundleShell();
        bundle.set("dsseEnvelope", envelope);
        return FakeRegistry.bytes(bundle);
    }

    /** A v0.3 bundle holding a message signature over the digest. */
    static byte[] messageBundle(String algorithm, byte[] digest, byte[] signature) {
        ObjectNode bundle = bundleShell();
        ObjectNode message = bundle.putObject("messageSignature");
        ObjectNode messageDigest = message.putObject("messageDigest");
        messageDigest.put("algorithm", algorithm);
        messageDigest.put("digest", base64(digest));
        message.put("signature", base64(signature));
        return FakeRegistry.bytes(bundle);
    }

    static byte[] messageBundle(TestKey key, String digest) {
        byte[] raw = HexFormat.of().parseHex(digest.substring("sha256:".length()));
        return messageBundle("SHA2_256", raw, key.signDigest(raw));
    }

    static FakeRegistry.Layer bundleLayer(byte[] bundle, String predicateType) {
        return new FakeRegistry.Layer(BUNDLE, bundle, Map.of("dev.sigstore.bundle.content", "dsse-envelope",
                "dev.sigstore.bundle.predicateType", predicateType));
    }

    private static ObjectNode bundleShell() {
        ObjectNode bundle = FakeRegistry.JSON.createObjectNode();
        bundle.put("mediaType", "application/vnd.dev.sigstore.bundle.v0.3+json");
        ObjectNode material = bundle.putObject("verificationMaterial");
        material.putObject("publicKey").put("hint", "aGludA==");
        material.putArray("tlogEntries");
        material.putObject("timestampVerificationData");
        return bundle;
    }

    static String payloadBase64(byte[] payload) {
        return base64(payload);
    }

    static String base64(byte[] bytes) {
        return Base64.getEncoder().encodeToString(bytes);
    }

    /** A digest that no test image has, for signatures about another image. */
    static String otherDigest() {
        return FakeRegistry.sha256("another image".getBytes(StandardCharsets.UTF_8));
    }
}
