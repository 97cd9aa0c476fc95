package io.berth.auth.trust;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.auth.trust.FakeRegistry.Layer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Artifacts made to break the parser: nothing escapes as an exception, nothing damaged is trusted. */
class HostileArtifactsTest {
    private static final TestKey KEY = TestKey.p256();
    private static final String IMAGE = FakeRegistry.sha256("image".getBytes(StandardCharsets.UTF_8));

    @TempDir
    Path dir;

    private final FakeRegistry registry = new FakeRegistry();
    private final SignatureVerifier verifier = SignatureVerifier.create();
    private PolicyRule rule;

    @BeforeEach
    void policy() throws IOException {
        rule = TrustPolicy.of(List.of(TrustRule.of(List.of("**"), KEY.writePem(dir.resolve("k.pub"))))).rule("app");
    }

    private Verdict verify(Layer layer) throws IOException {
        return verifier.verify(IMAGE, rule, List.of(registry.manifest(IMAGE, layer)), registry);
    }

    private static List<Layer> validLayers() {
        byte[] payload = Cosign.payload(IMAGE);
        return List.of(
                Cosign.simpleSigning(KEY, payload),
                Cosign.attestation(Cosign.envelope(KEY, Cosign.statement(IMAGE, Cosign.SIGN_PREDICATE))),
                Cosign.bundleLayer(Cosign.bundle(Cosign.envelope(KEY, Cosign.statement(IMAGE, Cosign.SIGN_PREDICATE))),
                        Cosign.SIGN_PREDICATE),
                new Layer(Cosign.BUNDLE, Cosign.messageBundle(KEY, IMAGE), Map.of()));
    }

    @Test
    void everyTruncationIsRefusedWithoutAnException() throws IOException {
        for (Layer valid : validLayers()) {
            assertThat(verify(valid).trusted()).isTrue();
            for (int length = 0; length < valid.content().length; length++) {
                Verdict verdict = verify(valid.withContent(Arrays.copyOf(valid.content(), length)));

                assertThat(verdict.trusted()).as("%s cut at %d", valid.mediaType(), length).isFalse();
                assertThat(verdict.rejected()).isNotEmpty();
            }
        }
    }

    @Test
    void randomByteDamageNeverThrows() throws IOException {
        Random random = new Random(20261206);
        int trusted = 0;
        for (Layer valid : validLayers()) {
            for (int round = 0; round < 400; round++) {
                byte[] damaged = valid.content().clone();
                for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                    damaged[random.nextInt(damaged.length)] = (byte) random.nextInt(256);
                }
                Verdict verdict = verify(valid.withContent(damaged));

                if (verdict.trusted()) {
                    trusted++;
                } else {
                    assertThat(verdict.rejected()).isNotEmpty();
                    assertThat(verdict.rejected()).allSatisfy(r -> assertThat(r.reason()).hasSizeLessThan(600));
                }
            }
        }
        // a flip may hit insignificant bytes (the manifest-independent "optional" field, a base64 pad bit), but
        // almost every damaged artifact must be refused
        assertThat(trusted).isLessThan(80);
    }

    @Test
    void deeplyNestedJsonIsRefused() throws IOException {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        byte[] bundle = ("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"x\":" + deep + "}")
                .getBytes(StandardCharsets.UTF_8);
        byte[] statement = ("{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicate\":" + deep + "}")
                .getBytes(StandardCharsets.UTF_8);

        assertThat(verify(new Layer(Cosign.BUNDLE, bundle, Map.of())).rejected().get(0).reason())
                .startsWith("layer 0: the bundle is not valid JSON: Document nesting depth (65) exceeds");
        assertThat(verify(Cosign.attestation(Cosign.envelope(KEY, statement))).rejected().get(0).reason())
                .startsWith("layer 0: the in-toto statement is not valid JSON: Document nesting depth (65) exceeds");
    }

    @Test
    void largePredicateIsSkippedNotBuilt() throws IOException {
        StringBuilder sbom = new StringBuilder("{\"packages\":[");
        for (int i = 0; i < 100_000; i++) {
            sbom.append(i == 0 ? "" : ",").append("{\"name\":\"p").append(i).append("\",\"v\":[1,2,3]}");
        }
        sbom.append("]}");
        String hex = IMAGE.substring(7);
        byte[] statement = ("{\"_type\":\"https://in-toto.io/Statement/v0.1\",\"predicateType\":\"https://spdx.dev/"
                + "Document\",\"predicate\":" + sbom + ",\"subject\":[{\"name\":\"app\",\"digest\":{\"sha256\":\""
                + hex + "\"}}]}").getBytes(StandardCharsets.UTF_8);

        Verdict verdict = verify(Cosign.attestation(Cosign.envelope(KEY, statement)));

        assertThat(statement.length).isGreaterThan(2_000_000);
        assertThat(verdict.claims()).containsExactly(Claim.attestation("https://spdx.dev/Document"));
    }

    @Test
    void invalidUtf8IsRefused() throws IOException {
        byte[] payload = Cosign.payload(IMAGE);
        byte[] broken = new String(payload, StandardCharsets.UTF_8).replace("registry.example", "registry\u00e9")
                .getBytes(StandardCharsets.ISO_8859_1);

        assertThat(verify(Cosign.simpleSigning(KEY, broken)).rejected().get(0).reason())
                .startsWith("layer 0: the simple-signing payload is not valid JSON: Invalid UTF-8");
    }

    @Test
    void hostileTextIsQuotedAndCutInReasons() throws IOException {
        // JSON escapes, which the parser turns into an ESC and a right-to-left override
        String type = "\\u001b[31mred\\u202e" + "x".repeat(100_000);

        String reason = verify(Cosign.simpleSigning(KEY, Cosign.payload(IMAGE, type))).rejected().get(0).reason();

        assertThat(reason).hasSizeLessThan(400).contains("\\u001b[31mred\\u202exxx").contains("(100009 characters)")
                .doesNotContain("\u001b").doesNotContain("\u202e");
    }

    @Test
    void tooManyLayersOrSignaturesAreRefused() throws IOException {
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i <= Manifest.MAX_LAYERS; i++) {
            layers.add(new Layer("application/octet-stream", new byte[] {(byte) i}, Map.of()));
        }
        ObjectNode envelope = Cosign.envelope(KEY, Cosign.statement(IMAGE, Cosign.SLSA));
        for (int i = 0; i < Dsse.MAX_SIGNATURES; i++) {
            envelope.withArray("signatures").addObject().put("sig", "AAAA");
        }

        assertThat(verifier.verify(IMAGE, rule, List.of(registry.manifest(null, layers)), registry).rejected())
                .extracting(Rejection::reason).containsExactly("the manifest has 257 layers; at most 256 are read");
        assertThat(verify(Cosign.attestation(envelope)).rejected()).extracting(Rejection::reason)
                .containsExactly("layer 0: the envelope has 17 signatures; at most 16 are read");
    }

    @Test
    void oversizedManifestIsRefusedUnparsed() throws IOException {
        byte[] manifest = new byte[SignatureVerifier.MAX_MANIFEST_BYTES + 1];
        Arrays.fill(manifest, (byte) ' ');

        Verdict verdict = verifier.verify(IMAGE, rule, List.of(FakeRegistry.raw(manifest)), registry);

        assertThat(verdict.rejected()).extracting(Rejection::reason)
                .containsExactly("the manifest has 4194305 bytes; at most 4194304 are read");
    }

    @Test
    void malformedDescriptorsAreRefused() throws IOException {
        String[] manifests = {
            "{\"layers\":[{\"mediaType\":\"" + Cosign.SIMPLE_SIGNING + "\",\"digest\":\"sha256:abc\",\"size\":1}]}",
            "{\"layers\":[{\"mediaType\":\"" + Cosign.SIMPLE_SIGNING + "\",\"digest\":\"" + IMAGE + "\",\"size\":-1}]}",
            "{\"layers\":[{\"mediaType\":\"" + Cosign.SIMPLE_SIGNING + "\",\"digest\":\"" + IMAGE
                    + "\",\"size\":1e400}]}",
            "{\"layers\":[{\"mediaType\":\"" + Cosign.SIMPLE_SIGNING + "\",\"digest\":\"" + IMAGE
                    + "\",\"size\":1,\"annotations\":{\"a\":1}}]}",
            "{\"layers\":{}}",
            "[]",
            "{\"layers\":[],\"subject\":\"" + IMAGE + "\"}",
        };
        for (String manifest : manifests) {
            Verdict verdict = verifier.verify(IMAGE, rule,
                    List.of(FakeRegistry.raw(manifest.getBytes(StandardCharsets.UTF_8))), registry);

            assertThat(verdict.trusted()).isFalse();
            assertThat(verdict.rejected()).as(manifest).hasSize(1);
        }
    }
}
