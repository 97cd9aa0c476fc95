package io.berth.auth.trust;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.auth.trust.FakeRegistry.Layer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.Arguments;

/** What the verifier tests share: keys, a registry, a rule over key files, and shorthands. */
abstract class VerifierTestSupport {
    static final TestKey P256 = TestKey.p256();
    static final TestKey OTHER = TestKey.p256();
    static final String IMAGE = FakeRegistry.sha256("the image manifest".getBytes(StandardCharsets.UTF_8));

    @TempDir
    Path dir;

    final FakeRegistry registry = new FakeRegistry();
    final SignatureVerifier verifier = SignatureVerifier.create();

    static Stream<Arguments> keys() {
        TestKey ed25519 = TestKey.ed25519();
        return Stream.of(
                Arguments.of("ECDSA P-256", TestKey.p256()),
                Arguments.of("ECDSA P-384", TestKey.p384()),
                Arguments.of("ECDSA P-521", TestKey.p521()),
                Arguments.of("RSA 2048", TestKey.rsa()),
                Arguments.of("Ed25519", ed25519),
                Arguments.of("Ed25519ph", ed25519.prehashed()));
    }

    PolicyRule rule(List<String> attestations, TestKey... keys) throws IOException {
        Path[] files = new Path[keys.length];
        for (int i = 0; i < keys.length; i++) {
            files[i] = keys[i].writePem(dir.resolve("key" + i + ".pub"));
        }
        return TrustPolicy.of(List.of(new TrustRule(List.of("**"), List.of(files), attestations))).rule("app");
    }

    PolicyRule rule(TestKey... keys) throws IOException {
        return rule(List.of(), keys);
    }

    Verdict verify(PolicyRule rule, Artifact... artifacts) throws IOException {
        return verifier.verify(IMAGE, rule, List.of(artifacts), registry);
    }

    Verdict verifyLayer(TestKey key, Layer layer) throws IOException {
        return verify(rule(key), registry.manifest(null, layer));
    }

    static String onlyReason(Verdict verdict) {
        assertThat(verdict.rejected()).hasSize(1);
        return verdict.rejected().get(0).reason();
    }

    /** Edits the JSON of a bundle. */
    record BundleJson(ObjectNode root) {
        BundleJson(byte[] json) throws IOException {
            this((ObjectNode) FakeRegistry.JSON.readTree(json));
        }

        byte[] bytes() {
            return FakeRegistry.bytes(root);
        }
    }
}
