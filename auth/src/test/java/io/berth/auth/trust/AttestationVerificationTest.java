package io.berth.auth.trust;

import static io.berth.auth.trust.Cosign.SLSA;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** cosign's legacy attestations: DSSE envelopes in the layers of the {@code .att} tag. */
class AttestationVerificationTest extends VerifierTestSupport {
    @ParameterizedTest(name = "{0}")
    @MethodSource("keys")
    void attestationByEachKindOfKeyIsVerified(String name, TestKey key) throws IOException {
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
}
