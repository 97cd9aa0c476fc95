package io.berth.auth.trust;

import static io.berth.auth.trust.Cosign.SLSA;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.auth.trust.FakeRegistry.Layer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SignatureVerifierTest {
    private static final TestKey P256 = TestKey.p256();
    private static final TestKey OTHER = TestKey.p256();
    private static final String IMAGE = FakeRegistry.sha256("the image manifest".getBytes(StandardCharsets.UTF_8));

    @TempDir
    Path dir;

    private final FakeRegistry registry = new FakeRegistry();
    private final SignatureVerifier verifier = SignatureVerifier.create();

    static Stream<Arguments> keys() {
        TestKey ed25519 = TestKey.ed25519();
        return Stream.of(
                Arguments.of("ECDSA P-256", TestKey.p256(), null),
                Arguments.of("ECDSA P-384", TestKey.p384(), null),
                Arguments.of("ECDSA P-521", TestKey.p521(), null),
                Arguments.of("RSA 2048", TestKey.rsa(), null),
                Arguments.of("Ed25519", ed25519, null),
                Arguments.of("Ed25519ph", ed25519.prehashed(), null));
    }

    private PolicyRule rule(List<String> attestations, TestKey... keys) throws IOException {
        Path[] files = new Path[keys.length];
        for (int i = 0; i < keys.length; i++) {
            files[i] = keys[i].writePem(dir.resolve("key" + i + ".pub"));
        }
        return TrustPolicy.of(List.of(new TrustRule(List.of("**"), List.of(files), attestations))).rule("app");
    }

    private PolicyRule rule(TestKey... keys) throws IOException {
        return rule(List.of(), keys);
    }

    private Verdict verify(PolicyRule rule, Artifact... artifacts) throws IOException {
        return verifier.verify(IMAGE, rule, List.of(artifacts), registry);
    }

    private Verdict verifyLayer(TestKey key, Layer layer) throws IOException {
        return verify(rule(key), registry.manifest(null, layer));
    }

    private static String onlyReason(Verdict verdict) {
        assertThat(verdict.rejected()).hasSize(1);
        return verdict.rejected().get(0).reason();
    }

    // --- legacy simple signing (.sig) ---

    @ParameterizedTest(name = "{0}")
    @MethodSource("keys")
    void simpleSigningByEachKindOfKeyIsTrusted(String name, TestKey key, Object unused) throws IOException {
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
    void signatureByAnotherKeyOfTheSameKindIsRefused(String name, TestKey key, Object unused) throws IOException {
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
        byte[] payload = ("{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\""
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

    // --- legacy attestations (.att): DSSE envelopes ---

    @ParameterizedTest(name = "{0}")
    @MethodSource("keys")
    void attestationByEachKindOfKeyIsVerified(String name, TestKey key, Object unused) throws IOException {
        Artifact att = registry.manifest(null, Cosign.attestation(Cosign.envelope(key,
                Cosign.statement(IMAGE, SLSA))));

        Verdict verdict = verify(rule(key), att);

        assertThat(verdict.rejected()).isEmpty();
        assertThat(verdict.claims()).containsExactly(Claim.attestation(SLSA));
        assertThat(verdict.trusted()).as("an attestation is not a signature").isFalse();
        assertThat(verdict.missing()).containsExactly("a signature");
    }

    @Test
    void signatureAndRequiredAttestationTogetherAreTrusted() throws IOException {
        PolicyRule rule = rule(List.of(SLSA), P256);
        Artifact sig = registry.manifest(null, Cosign.simpleSigning(P256, Cosign.payload(IMAGE)));
        Artifact att = registry.manifest(null, Cosign.attestation(Cosign.envelope(P256,
                Cosign.statement(IMAGE, SLSA))));

        assertThat(verify(rule, sig).missing()).containsExactly("an attestation " + SLSA);
        assertThat(verify(rule, sig).reason()).startsWith(
                "no valid attestation " + SLSA + " by a key of berth.trust[0] for " + IMAGE);
        Verdict both = verify(rule, sig, att);
        assertThat(both.trusted()).isTrue();
        assertThat(both.claims()).containsExactlyInAnyOrder(Claim.signature(), Claim.attestation(SLSA));
    }

    @Test
    void attestationOfAnotherPredicateTypeDoesNotSatisfyTheRule() throws IOException {
        PolicyRule rule = rule(List.of(SLSA), P256);
        Artifact sig = registry.manifest(null, Cosign.simpleSigning(P256, Cosign.payload(IMAGE)));
        Artifact att = registry.manifest(null, Cosign.attestation(Cosign.envelope(P256,
                Cosign.statement(IMAGE, "https://spdx.dev/Document"))));

        Verdict verdict = verify(rule, sig, att);

        assertThat(verdict.trusted()).isFalse();
        assertThat(verdict.missing()).containsExactly("an attestation " + SLSA);
    }

    @Test
    void attestationAboutAnotherDigestIsRefused() throws IOException {
        Artifact att = registry.manifest(null, Cosign.attestation(Cosign.envelope(P256,
                Cosign.statement(Cosign.otherDigest(), SLSA))));

        assertThat(onlyReason(verify(rule(P256), att))).isEqualTo(
                "layer 0: the statement's subject is " + Cosign.otherDigest() + ", not " + IMAGE);
    }

    @Test
    void attestationWithoutPredicateTypeIsRefused() throws IOException {
        byte[] statement = ("{\"_type\":\"https://in-toto.io/Statement/v0.1\",\"subject\":[{\"name\":\"app\","
                + "\"digest\":{\"sha256\":\"" + IMAGE.substring(7) + "\"}}],\"predicate\":{}}")
                .getBytes(StandardCharsets.UTF_8);
        Artifact att = registry.manifest(null, Cosign.attestation(Cosign.envelope(P256, statement)));

        assertThat(onlyReason(verify(rule(P256), att))).isEqualTo("layer 0: the statement has no predicateType");
    }

    @Test
    void attestationByAnotherKeyIsRefused() throws IOException {
        Artifact att = registry.manifest(null, Cosign.attestation(Cosign.envelope(OTHER,
                Cosign.statement(IMAGE, SLSA))));

        assertThat(onlyReason(verify(rule(P256), att))).isEqualTo(
                "layer 0: the signature was not made by the key of berth.trust[0]");
    }

    @Test
    void envelopeSignedOverThePayloadInsteadOfItsEncodingIsRefused() throws IOException {
        byte[] statement = Cosign.statement(IMAGE, SLSA);
        Artifact att = registry.manifest(null, Cosign.attestation(Cosign.envelope(Cosign.payloadBase64(statement),
                Cosign.IN_TOTO, P256.sign(statement))));

        assertThat(onlyReason(verify(rule(P256), att))).contains("not made by the key");
    }

    @Test
    void envelopeWhosePayloadTypeWasChangedIsRefused() throws IOException {
        byte[] statement = Cosign.statement(IMAGE, SLSA);
        byte[] signature = P256.sign(Cosign.pae(Cosign.IN_TOTO, statement));
        Artifact att = registry.manifest(null, Cosign.attestation(Cosign.envelope(Cosign.payloadBase64(statement),
                "application/json", signature)));

        assertThat(onlyReason(verify(rule(P256), att))).contains("not made by the key");
    }

    @Test
    void signedEnvelopeOfAnotherPayloadTypeIsRefused() throws IOException {
        byte[] statement = Cosign.statement(IMAGE, SLSA);
        Artifact att = registry.manifest(null, Cosign.attestation(Cosign.envelope(Cosign.payloadBase64(statement),
                "application/json", P256.sign(Cosign.pae("application/json", statement)))));

        assertThat(onlyReason(verify(rule(P256), att))).isEqualTo(
                "layer 0: the envelope's payload type is \"application/json\", not application/vnd.in-toto+json");
    }

    @Test
    void statementOfAnotherTypeIsRefused() throws IOException {
        byte[] statement = ("{\"_type\":\"https://example.com/NotAStatement\",\"subject\":[{\"digest\":{\"sha256\":\""
                + IMAGE.substring(7) + "\"}}],\"predicateType\":\"" + SLSA + "\"}").getBytes(StandardCharsets.UTF_8);
        Artifact att = registry.manifest(null, Cosign.attestation(Cosign.envelope(P256, statement)));

        assertThat(onlyReason(verify(rule(P256), att))).isEqualTo(
                "layer 0: the statement's _type is \"https://example.com/NotAStatement\", not an in-toto statement");
    }

    @Test
    void envelopeWithBadBase64PayloadIsRefused() throws IOException {
        Artifact att = registry.manifest(null, Cosign.attestation(Cosign.envelope("e30=*", Cosign.IN_TOTO,
                P256.sign(new byte[0]))));

        assertThat(onlyReason(verify(rule(P256), att))).isEqualTo(
                "layer 0: the envelope's payload is not valid base64");
    }

    // --- sigstore bundles (cosign v3) ---

    @ParameterizedTest(name = "{0}")
    @MethodSource("keys")
    void bundleOfCosignSignStatementIsASignature(String name, TestKey key, Object unused) throws IOException {
        byte[] bundle = Cosign.bundle(Cosign.envelope(key, Cosign.statement(IMAGE, Cosign.SIGN_PREDICATE)));
        Artifact referrer = registry.manifest(IMAGE, Cosign.bundleLayer(bundle, Cosign.SIGN_PREDICATE));

        Verdict verdict = verify(rule(key), referrer);

        assertThat(verdict.trusted()).as(verdict.reason()).isTrue();
        assertThat(verdict.claims()).containsExactly(Claim.signature());
    }

    @Test
    void bundleOfAnotherStatementIsAnAttestation() throws IOException {
        byte[] bundle = Cosign.bundle(Cosign.envelope(P256, Cosign.statement(IMAGE, SLSA)));
        Artifact referrer = registry.manifest(IMAGE, Cosign.bundleLayer(bundle, SLSA));

        assertThat(verify(rule(P256), referrer).claims()).containsExactly(Claim.attestation(SLSA));
    }

    @Test
    void claimComesFromTheSignedStatementNotTheAnnotation() throws IOException {
        byte[] bundle = Cosign.bundle(Cosign.envelope(P256, Cosign.statement(IMAGE, SLSA)));
        // the annotation claims a signature; the signed statement is an attestation
        Artifact referrer = registry.manifest(IMAGE, Cosign.bundleLayer(bundle, Cosign.SIGN_PREDICATE));

        Verdict verdict = verify(rule(P256), referrer);

        assertThat(verdict.claims()).containsExactly(Claim.attestation(SLSA));
        assertThat(verdict.trusted()).isFalse();
    }

    @Test
    void bundleAboutAnotherDigestIsRefused() throws IOException {
        byte[] bundle = Cosign.bundle(Cosign.envelope(P256, Cosign.statement(Cosign.otherDigest(),
                Cosign.SIGN_PREDICATE)));

        Verdict verdict = verify(rule(P256), registry.manifest(null, Cosign.bundleLayer(bundle,
                Cosign.SIGN_PREDICATE)));

        assertThat(onlyReason(verdict)).isEqualTo(
                "layer 0: the statement's subject is " + Cosign.otherDigest() + ", not " + IMAGE);
    }

    @Test
    void bundleByAnotherKeyIsRefused() throws IOException {
        byte[] bundle = Cosign.bundle(Cosign.envelope(OTHER, Cosign.statement(IMAGE, Cosign.SIGN_PREDICATE)));

        assertThat(onlyReason(verify(rule(P256), registry.manifest(IMAGE, Cosign.bundleLayer(bundle,
                Cosign.SIGN_PREDICATE))))).isEqualTo("layer 0: the signature was not made by the key of berth.trust[0]");
    }

    @Test
    void keylessBundleIsRefusedWithAnExplanation() throws IOException {
        ObjectNodeEditor edit = new ObjectNodeEditor(Cosign.bundle(Cosign.envelope(OTHER,
                Cosign.statement(IMAGE, Cosign.SIGN_PREDICATE))));
        edit.root().with("verificationMaterial").remove("publicKey");
        edit.root().with("verificationMaterial").putObject("certificate").put("rawBytes", "MIIB");

        String reason = onlyReason(verify(rule(P256), registry.manifest(IMAGE, Cosign.bundleLayer(edit.bytes(),
                Cosign.SIGN_PREDICATE))));

        assertThat(reason).isEqualTo("layer 0: the signature was not made by the key of berth.trust[0] (the bundle is"
                + " keyless, with a certificate; Berth checks signatures against the policy's public keys only)");
    }

    @Test
    void referrerWhoseSubjectIsAnotherImageIsRefused() throws IOException {
        byte[] bundle = Cosign.bundle(Cosign.envelope(P256, Cosign.statement(IMAGE, Cosign.SIGN_PREDICATE)));
        Artifact referrer = registry.manifest(Cosign.otherDigest(), Cosign.bundleLayer(bundle, Cosign.SIGN_PREDICATE));

        assertThat(onlyReason(verify(rule(P256), referrer))).isEqualTo(
                "the manifest's subject is " + Cosign.otherDigest() + ", not " + IMAGE);
    }

    @Test
    void messageSignatureOverTheImageDigestIsASignature() throws IOException {
        for (TestKey key : List.of(P256, TestKey.rsa())) {
            Artifact referrer = registry.manifest(IMAGE, new Layer(Cosign.BUNDLE, Cosign.messageBundle(key, IMAGE),
                    Map.of()));

            Verdict verdict = verify(rule(key), referrer);

            assertThat(verdict.trusted()).as(key.type() + ": " + verdict.reason()).isTrue();
        }
    }

    @Test
    void messageSignatureOverAnotherDigestIsRefused() throws IOException {
        Artifact referrer = registry.manifest(IMAGE, new Layer(Cosign.BUNDLE,
                Cosign.messageBundle(P256, Cosign.otherDigest()), Map.of()));

        assertThat(onlyReason(verify(rule(P256), referrer))).isEqualTo("layer 0: the message signature signs another"
                + " digest (sha2_256:" + Cosign.otherDigest().substring(7) + "), not " + IMAGE);
    }

    @Test
    void messageSignatureByAnotherKeyOrWithAnEd25519KeyIsRefused() throws IOException {
        TestKey ed25519 = TestKey.ed25519();
        byte[] raw = java.util.HexFormat.of().parseHex(IMAGE.substring(7));
        Artifact byOther = registry.manifest(IMAGE, new Layer(Cosign.BUNDLE, Cosign.messageBundle(OTHER, IMAGE),
                Map.of()));
        Artifact byEd25519 = registry.manifest(IMAGE, new Layer(Cosign.BUNDLE,
                Cosign.messageBundle("SHA2_256", raw, ed25519.sign(raw)), Map.of()));

        assertThat(onlyReason(verify(rule(P256), byOther))).contains("not made by the key");
        assertThat(onlyReason(verify(rule(ed25519), byEd25519))).contains("not made by the key");
    }

    @Test
    void bundleWithBothOrNeitherContentIsRefused() throws IOException {
        ObjectNodeEditor both = new ObjectNodeEditor(Cosign.messageBundle(P256, IMAGE));
        both.root().set("dsseEnvelope", Cosign.envelope(P256, Cosign.statement(IMAGE, Cosign.SIGN_PREDICATE)));
        ObjectNodeEditor neither = new ObjectNodeEditor(Cosign.messageBundle(P256, IMAGE));
        neither.root().remove("messageSignature");

        assertThat(onlyReason(verify(rule(P256), registry.manifest(IMAGE, new Layer(Cosign.BUNDLE, both.bytes(),
                Map.of()))))).isEqualTo("layer 0: the bundle has both a dsseEnvelope and a messageSignature");
        assertThat(onlyReason(verify(rule(P256), registry.manifest(IMAGE, new Layer(Cosign.BUNDLE, neither.bytes(),
                Map.of()))))).isEqualTo("layer 0: the bundle has neither a dsseEnvelope nor a messageSignature");
    }

    // --- the manifest and its layers ---

    @Test
    void manifestWhoseBytesDoNotMatchItsDigestIsRefused() throws IOException {
        Artifact sig = registry.manifest(null, Cosign.simpleSigning(P256, Cosign.payload(IMAGE)));
        Artifact lying = Artifact.of(Cosign.otherDigest(), sig.manifest());

        Verdict verdict = verify(rule(P256), lying);

        assertThat(verdict.trusted()).isFalse();
        assertThat(verdict.rejected()).containsExactly(new Rejection(Cosign.otherDigest(),
                "the manifest's bytes do not hash to its digest"));
    }

    @Test
    void layerLargerThanTheLimitIsRefusedUnread() throws IOException {
        SignatureVerifier small = SignatureVerifier.withMaxLayerBytes(1024);
        byte[] payload = Cosign.payload(IMAGE + "\",\"padding\":\"" + "x".repeat(2000));
        Artifact sig = registry.manifest(null, Cosign.simpleSigning(P256, payload));
        int readsBefore = registry.reads();

        Verdict verdict = small.verify(IMAGE, rule(P256), List.of(sig), registry);

        assertThat(onlyReason(verdict)).isEqualTo("layer 0: has " + payload.length + " bytes; at most 1024 are read");
        assertThat(registry.reads()).isEqualTo(readsBefore);
    }

    @Test
    void layersOfOtherMediaTypesArePassedOver() throws IOException {
        Artifact sig = registry.manifest(null, new Layer("application/vnd.oci.image.layer.v1.tar", new byte[10],
                Map.of()), Cosign.simpleSigning(P256, Cosign.payload(IMAGE)));

        Verdict verdict = verify(rule(P256), sig);

        assertThat(verdict.trusted()).isTrue();
        assertThat(verdict.rejected()).isEmpty();
        assertThat(verdict.verified().get(0).layer()).isEqualTo(1);
    }

    @Test
    void manifestWithoutSignatureLayersIsRefused() throws IOException {
        Artifact sbom = registry.manifest(IMAGE, new Layer("application/spdx+json", "{}".getBytes(), Map.of()));

        Verdict verdict = verify(rule(P256), sbom);

        assertThat(onlyReason(verdict)).isEqualTo("holds no cosign signature, attestation or sigstore bundle layer");
        assertThat(verdict.reason()).isEqualTo("no valid signature by a key of berth.trust[0] for " + IMAGE
                + "; 1 refused: " + sbom.digest() + ": holds no cosign signature, attestation or sigstore bundle layer");
    }

    @Test
    void indexIsRefused() throws IOException {
        byte[] index = "{\"schemaVersion\":2,\"manifests\":[]}".getBytes(StandardCharsets.UTF_8);

        assertThat(onlyReason(verify(rule(P256), FakeRegistry.raw(index)))).isEqualTo(
                "the manifest is an index, which carries no signature layers");
    }

    @Test
    void validAndInvalidArtifactsAreReportedSeparately() throws IOException {
        Artifact bad = registry.manifest(null, Cosign.simpleSigning(OTHER, Cosign.payload(IMAGE)));
        Artifact good = registry.manifest(null, Cosign.simpleSigning(P256, Cosign.payload(IMAGE)));

        Verdict verdict = verify(rule(P256), bad, good);

        assertThat(verdict.trusted()).isTrue();
        assertThat(verdict.rejected()).extracting(Rejection::artifact).containsExactly(bad.digest());
        assertThat(verdict.verified()).extracting(VerifiedClaim::artifact).containsExactly(good.digest());
    }

    @Test
    void noArtifactsIsNotTrusted() throws IOException {
        Verdict verdict = verify(rule(P256));

        assertThat(verdict.trusted()).isFalse();
        assertThat(verdict.reason()).isEqualTo("no valid signature by a key of berth.trust[0] for " + IMAGE
                + "; none was found");
    }

    @Test
    void invalidImageDigestVerifiesNothing() throws IOException {
        Artifact sig = registry.manifest(null, Cosign.simpleSigning(P256, Cosign.payload("sha256:abc")));

        Verdict verdict = verifier.verify("sha256:abc", rule(P256), List.of(sig), registry);

        assertThat(verdict.trusted()).isFalse();
        assertThat(verdict.rejected()).singleElement().extracting(Rejection::reason)
                .isEqualTo("the image digest \"sha256:abc\" is not a valid digest");
    }

    @Test
    void storageFailureReachesTheCaller() throws IOException {
        Artifact sig = registry.manifest(null, Cosign.simpleSigning(P256, Cosign.payload(IMAGE)));
        PolicyRule rule = rule(P256);

        org.assertj.core.api.Assertions.assertThatIOException()
                .isThrownBy(() -> verifier.verify(IMAGE, rule, List.of(sig), (digest, size) -> {
                    throw new IOException("disk gone");
                }))
                .withMessage("disk gone");
    }

    /** Edits the JSON of a bundle. */
    private record ObjectNodeEditor(com.fasterxml.jackson.databind.node.ObjectNode root) {
        ObjectNodeEditor(byte[] json) throws IOException {
            this((com.fasterxml.jackson.databind.node.ObjectNode) FakeRegistry.JSON.readTree(json));
        }

        byte[] bytes() {
            return FakeRegistry.bytes(root);
        }
    }
}
