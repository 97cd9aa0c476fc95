package io.berth.auth.trust;

import static io.berth.auth.trust.Cosign.SLSA;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.auth.trust.FakeRegistry.Layer;
import java.io.IOException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Sigstore bundles as cosign v3 pushes them, as OCI 1.1 referrers. */
class BundleVerificationTest extends VerifierTestSupport {
    @ParameterizedTest(name = "{0}")
    @MethodSource("keys")
    void bundleOfCosignSignStatementIsASignature(String name, TestKey key) throws IOException {
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
                Cosign.SIGN_PREDICATE)))))
                .isEqualTo("layer 0: the signature was not made by the key of berth.trust[0]");
    }

    @Test
    void keylessBundleIsRefusedWithAnExplanation() throws IOException {
        BundleJson edit = new BundleJson(Cosign.bundle(Cosign.envelope(OTHER,
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
        byte[] raw = HexFormat.of().parseHex(IMAGE.substring(7));
        Artifact byOther = registry.manifest(IMAGE, new Layer(Cosign.BUNDLE, Cosign.messageBundle(OTHER, IMAGE),
                Map.of()));
        Artifact byEd25519 = registry.manifest(IMAGE, new Layer(Cosign.BUNDLE,
                Cosign.messageBundle("SHA2_256", raw, ed25519.sign(raw)), Map.of()));

        assertThat(onlyReason(verify(rule(P256), byOther))).contains("not made by the key");
        assertThat(onlyReason(verify(rule(ed25519), byEd25519))).contains("not made by the key");
    }

    @Test
    void bundleWithBothOrNeitherContentIsRefused() throws IOException {
        BundleJson both = new BundleJson(Cosign.messageBundle(P256, IMAGE));
        both.root().set("dsseEnvelope", Cosign.envelope(P256, Cosign.statement(IMAGE, Cosign.SIGN_PREDICATE)));
        BundleJson neither = new BundleJson(Cosign.messageBundle(P256, IMAGE));
        neither.root().remove("messageSignature");

        assertThat(onlyReason(verify(rule(P256), registry.manifest(IMAGE, new Layer(Cosign.BUNDLE, both.bytes(),
                Map.of()))))).isEqualTo("layer 0: the bundle has both a dsseEnvelope and a messageSignature");
        assertThat(onlyReason(verify(rule(P256), registry.manifest(IMAGE, new Layer(Cosign.BUNDLE, neither.bytes(),
                Map.of()))))).isEqualTo("layer 0: the bundle has neither a dsseEnvelope nor a messageSignature");
    }
}
