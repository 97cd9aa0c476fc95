package io.berth.auth.trust;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.auth.trust.FakeRegistry.Layer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** cosign's legacy signatures: simple-signing layers of the {@code .sig} tag. */
class SimpleSigningVerificationTest extends VerifierTestSupport {
    @ParameterizedTest(name = "{0}")
    @MethodSource("keys")
    void simpleSigningByEachKindOfKeyIsTrusted(String name, TestKey key) throws IOException {
        Artifact sig = registry.manifest(null, Cosign.simpleSigning(key, Cosign.payload(IMAGE)));

        Verdict verdict = verify(rule(key), sig);

        assertThat(verdict.trusted()).as(verdict.reason()).isTrue();
        assertThat(verdict.rejected()).isEmpty();
        assertThat(verdict.verified()).singleElement().satisfies(claim -> {
            assertThat(claim.claim()).isEqualTo(Claim.signature());
            assertThat(claim.key().type()).isEqualTo(key.type());
            assertThat(claim.artifact()).isEqualTo(sig.digest());
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("keys")
    void signatureByAnotherKeyOfTheSameKindIsRefused(String name, TestKey key) throws IOException {
        TestKey sameKind = switch (key.type()) {
            case ECDSA_P256 -> TestKey.p256();
            case ECDSA_P384 -> TestKey.p384();
            case ECDSA_P521 -> TestKey.p521();
            case RSA -> TestKey.rsa();
            case ED25519 -> TestKey.ed25519();
        };

        Verdict verdict = verify(rule(sameKind), registry.manifest(null, Cosign.simpleSigning(key,
                Cosign.payload(IMAGE))));

        assertThat(verdict.trusted()).isFalse();
        assertThat(onlyReason(verdict)).isEqualTo("layer 0: the signature was not made by the key of berth.trust[0]");
    }

    @Test
    void oneOfSeveralKeysSuffices() throws IOException {
        TestKey rsa = TestKey.rsa();
        Verdict verdict = verify(rule(OTHER, rsa, P256), registry.manifest(null,
                Cosign.simpleSigning(P256, Cosign.payload(IMAGE))));

        assertThat(verdict.trusted()).isTrue();
        assertThat(verdict.verified().get(0).key().publicKey()).isEqualTo(P256.publicKey());
    }

    @Test
    void signatureForAnotherDigestIsRefused() throws IOException {
        Verdict verdict = verifyLayer(P256, Cosign.simpleSigning(P256, Cosign.payload(Cosign.otherDigest())));

        assertThat(verdict.trusted()).isFalse();
        assertThat(onlyReason(verdict)).isEqualTo(
                "layer 0: the payload signs " + Cosign.otherDigest() + ", not " + IMAGE);
    }

    @Test
    void digestThatDiffersOnlyInCaseIsAnotherDigest() throws IOException {
        String upper = "sha256:" + IMAGE.substring(7).toUpperCase();
        Verdict verdict = verifyLayer(P256, Cosign.simpleSigning(P256, Cosign.payload(upper)));

        assertThat(verdict.trusted()).isFalse();
        assertThat(onlyReason(verdict)).contains("the payload signs \"" + upper + "\", not " + IMAGE);
    }

    @Test
    void tamperedPayloadIsRefused() throws IOException {
        Layer signed = Cosign.simpleSigning(P256, Cosign.payload(Cosign.otherDigest()));
        // someone swaps in a payload for this image and keeps the signature
        Layer tampered = signed.withContent(Cosign.payload(IMAGE));

        Verdict verdict = verifyLayer(P256, tampered);

        assertThat(verdict.trusted()).isFalse();
        assertThat(onlyReason(verdict)).isEqualTo("layer 0: the signature was not made by the key of berth.trust[0]");
    }

    @Test
    void payloadReformattedAfterSigningIsRefused() throws IOException {
        byte[] payload = Cosign.payload(IMAGE);
        Layer signed = Cosign.simpleSigning(P256, payload);
        byte[] spaced = (new String(payload, StandardCharsets.UTF_8) + "\n").getBytes(StandardCharsets.UTF_8);

        Verdict verdict = verifyLayer(P256, signed.withContent(spaced));

        assertThat(verdict.trusted()).isFalse();
        assertThat(onlyReason(verdict)).contains("not made by the key");
    }

    @Test
    void layerBlobThatDoesNotMatchItsDescriptorIsRefused() throws IOException {
        Layer signed = Cosign.simpleSigning(P256, Cosign.payload(IMAGE));
        Artifact sig = registry.manifest(null, signed);
        registry.corrupt(FakeRegistry.sha256(signed.content()), Cosign.payload(Cosign.otherDigest()));

        Verdict verdict = verify(rule(P256), sig);

        assertThat(verdict.trusted()).isFalse();
        assertThat(onlyReason(verdict)).isEqualTo("layer 0: its blob does not match the layer's digest and size");
    }

    @Test
    void missingLayerBlobIsRefused() throws IOException {
        Layer signed = Cosign.simpleSigning(P256, Cosign.payload(IMAGE));
        byte[] manifest = FakeRegistry.bytes(FakeRegistry.JSON.readTree(
                new String(registry.manifest(null, signed).manifest(), StandardCharsets.UTF_8)
                        .replace(FakeRegistry.sha256(signed.content()), FakeRegistry.sha256(new byte[1]))));

        Verdict verdict = verify(rule(P256), FakeRegistry.raw(manifest));

        assertThat(onlyReason(verdict)).isEqualTo(
                "layer 0: its blob " + FakeRegistry.sha256(new byte[1]) + " is not in the registry");
    }

    @Test
    void badBase64SignatureIsRefused() throws IOException {
        Layer layer = Cosign.simpleSigning(P256, Cosign.payload(IMAGE)).withAnnotation(Cosign.SIGNATURE_ANNOTATION,
                "MEUCIQ!!not base64");

        assertThat(onlyReason(verifyLayer(P256, layer))).isEqualTo("layer 0: the signature annotation is not valid"
                + " base64");
    }

    @Test
    void missingSignatureAnnotationIsRefused() throws IOException {
        Layer layer = new Layer(Cosign.SIMPLE_SIGNING, Cosign.payload(IMAGE), Map.of());

        assertThat(onlyReason(verifyLayer(P256, layer))).isEqualTo(
                "layer 0: has no dev.cosignproject.cosign/signature annotation");
    }

    @Test
    void wrongCriticalTypeIsRefused() throws IOException {
        Layer layer = Cosign.simpleSigning(P256, Cosign.payload(IMAGE, "cosign container image attestation"));

        assertThat(onlyReason(verifyLayer(P256, layer))).isEqualTo("layer 0: the payload's critical.type is"
                + " \"cosign container image attestation\", not \"cosign container image signature\"");
    }

    @Test
    void payloadWithARepeatedDigestKeyIsRefused() throws IOException {
        byte[] payload = ("{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},"
                + "\"image\":{\"docker-manifest-digest\":\""
                + Cosign.otherDigest() + "\",\"docker-manifest-digest\":\"" + IMAGE + "\"},\"type\":\""
                + "cosign container image signature\"},\"optional\":null}").getBytes(StandardCharsets.UTF_8);

        String reason = onlyReason(verifyLayer(P256, Cosign.simpleSigning(P256, payload)));

        assertThat(reason).startsWith("layer 0: the simple-signing payload is not valid JSON: Duplicate field");
    }

    @Test
    void payloadWithTrailingDataOrAByteOrderMarkIsRefused() throws IOException {
        byte[] trailing = (new String(Cosign.payload(IMAGE), StandardCharsets.UTF_8) + "{}").getBytes(
                StandardCharsets.UTF_8);
        byte[] bom = ("\uFEFF" + new String(Cosign.payload(IMAGE), StandardCharsets.UTF_8)).getBytes(
                StandardCharsets.UTF_8);

        assertThat(onlyReason(verifyLayer(P256, Cosign.simpleSigning(P256, trailing))))
                .startsWith("layer 0: the simple-signing payload is not valid JSON: Trailing token");
        assertThat(onlyReason(verifyLayer(P256, Cosign.simpleSigning(P256, bom))))
                .isEqualTo("layer 0: the simple-signing payload starts with a byte-order mark");
    }

    @Test
    void payloadWithoutCriticalImageIsRefused() throws IOException {
        byte[] payload = "{\"critical\":{\"type\":\"cosign container image signature\"}}".getBytes(
                StandardCharsets.UTF_8);

        assertThat(onlyReason(verifyLayer(P256, Cosign.simpleSigning(P256, payload))))
                .isEqualTo("layer 0: the payload's critical section has no image object");
    }
}
