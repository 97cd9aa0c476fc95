package io.berth.auth.trust;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIOException;

import io.berth.auth.trust.FakeRegistry.Layer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What holds for every format: the manifest, its layers and blobs, and the verdict. */
class ArtifactVerificationTest extends VerifierTestSupport {
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
                + "; 1 refused: " + sbom.digest()
                + ": holds no cosign signature, attestation or sigstore bundle layer");
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

        assertThatIOException()
                .isThrownBy(() -> verifier.verify(IMAGE, rule, List.of(sig), (digest, size) -> {
                    throw new IOException("disk gone");
                }))
                .withMessage("disk gone");
    }
}
