package io.berth.auth.trust;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIOException;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import io.berth.auth.FakeTime;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrustPolicyTest {
    private static final TestKey CI = TestKey.p256();
    private static final TestKey NEXT = TestKey.p256();

    @TempDir
    Path dir;

    private final FakeTime time = new FakeTime();

    private Path key(String name, TestKey key) throws IOException {
        return key.writePem(dir.resolve(name));
    }

    /** Replaces the file as an editor or a Secret update does: a new file moved into place, with a new time. */
    private void replace(Path file, String content) throws IOException {
        Path fresh = Files.createTempFile(dir, "fresh", ".pub");
        Files.writeString(fresh, content, StandardCharsets.US_ASCII);
        Files.setLastModifiedTime(fresh, FileTime.from(Files.getLastModifiedTime(file).toInstant().plusSeconds(10)));
        Files.move(fresh, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void firstRuleWhoseRepositoriesMatchApplies() throws IOException {
        Path ci = key("ci.pub", CI);
        Path other = key("other.pub", NEXT);
        TrustPolicy policy = TrustPolicy.of(List.of(
                new TrustRule(List.of("team/secure/**"), List.of(other), List.of(Cosign.SLSA)),
                TrustRule.of(List.of("team/**", "prod/*"), ci)), time);

        PolicyRule secure = policy.rule("team/secure/app");
        PolicyRule team = policy.rule("team/app");

        assertThat(secure.index()).isZero();
        assertThat(secure.name()).isEqualTo("berth.trust[0]");
        assertThat(secure.attestations()).containsExactly(Cosign.SLSA);
        assertThat(secure.keys()).extracting(TrustKey::publicKey).containsExactly(NEXT.publicKey());
        assertThat(team.index()).isEqualTo(1);
        assertThat(team.keys()).extracting(TrustKey::publicKey).containsExactly(CI.publicKey());
        assertThat(team.attestations()).isEmpty();
        assertThat(policy.rule("prod/app").index()).isEqualTo(1);
    }

    @Test
    void repositoryNoRuleMatchesNeedsNoSignature() throws IOException {
        TrustPolicy policy = TrustPolicy.of(List.of(TrustRule.of(List.of("prod/*"), key("ci.pub", CI))), time);

        assertThat(policy.rule("prod/x/app")).isNull();
        assertThat(policy.rule("dev/app")).isNull();
        assertThat(TrustPolicy.none().rule("prod/app")).isNull();
        assertThat(TrustPolicy.none().isEmpty()).isTrue();
    }

    @Test
    void nameOutsideTheRepositoryGrammarIsRefusedRatherThanUnmatched() throws IOException {
        TrustPolicy policy = TrustPolicy.of(List.of(TrustRule.of(List.of("**"), key("ci.pub", CI))), time);

        assertThatIllegalArgumentException().isThrownBy(() -> policy.rule("Prod/App"))
                .withMessage("not a repository name: \"Prod/App\"");
        assertThatIllegalArgumentException().isThrownBy(() -> policy.rule("a".repeat(256)));
    }

    @Test
    void everyKindOfCosignKeyIsRead() throws IOException {
        List<TestKey> keys = List.of(TestKey.p256(), TestKey.p384(), TestKey.p521(), TestKey.rsa(), TestKey.ed25519());
        Path file = dir.resolve("all.pub");
        StringBuilder pem = new StringBuilder("keys of the CI, in rotation order\n");
        keys.forEach(k -> pem.append(TestKey.pem(k.publicKey())));
        Files.writeString(file, pem);

        PolicyRule rule = TrustPolicy.of(List.of(TrustRule.of(List.of("**"), file)), time).rule("app");

        assertThat(rule.keys()).extracting(TrustKey::type).containsExactly(KeyType.ECDSA_P256, KeyType.ECDSA_P384,
                KeyType.ECDSA_P521, KeyType.RSA, KeyType.ED25519);
        assertThat(rule.keys()).extracting(TrustKey::file).containsOnly(file);
        assertThat(rule.keys().get(0).fingerprint()).matches("sha256:[0-9a-f]{64}");
    }

    @Test
    void badRulesAreRefusedNamingTheRule() throws IOException {
        Path ci = key("ci.pub", CI);

        assertThatIllegalArgumentException()
                .isThrownBy(() -> TrustPolicy.of(List.of(TrustRule.of(List.of("**"), ci), TrustRule.of(List.of(), ci))))
                .withMessage("berth.trust[1]: the list of repositories is empty; use \"**\" for all");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> TrustPolicy.of(List.of(TrustRule.of(List.of("ok", "Bad Name"), ci))))
                .withMessageStartingWith("berth.trust[0].repositories[1]: repository pattern \"Bad Name\" has the"
                        + " character 'B'");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> TrustPolicy.of(List.of(TrustRule.of(List.of("**")))))
                .withMessageStartingWith("berth.trust[0]: no keys;");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> TrustPolicy.of(List.of(new TrustRule(List.of("**"), List.of(ci),
                        List.of("slsaprovenance")))))
                .withMessageStartingWith("berth.trust[0].attestations[0]: \"slsaprovenance\" is not a predicate type"
                        + " URI");
    }

    @Test
    void unusableKeyFilesAreRefusedNamingTheFile() throws Exception {
        Path missing = dir.resolve("missing.pub");
        Path empty = Files.writeString(dir.resolve("empty.pub"), "");
        Path certificate = Files.writeString(dir.resolve("cert.pem"),
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
        Path garbage = Files.writeString(dir.resolve("garbage.pub"),
                "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n");
        // the JDK no longer makes secp256k1 keys; BouncyCastle does
        var k1 = KeyPairGenerator.getInstance("EC", new BouncyCastleProvider());
        k1.initialize(new ECGenParameterSpec("secp256k1"));
        Path k256 = Files.writeString(dir.resolve("k1.pub"), TestKey.pem(k1.generateKeyPair().getPublic()));
        var rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(1024);
        Path weak = Files.writeString(dir.resolve("weak.pub"), TestKey.pem(rsa.generateKeyPair().getPublic()));
        Path huge = Files.write(dir.resolve("huge.pub"), new byte[PublicKeys.MAX_FILE_BYTES + 1]);

        assertThatIOException().isThrownBy(() -> policyOf(missing)).withMessage(missing + ": no such file");
        assertThatIOException().isThrownBy(() -> policyOf(empty))
                .withMessage(empty + ": holds no public key (-----BEGIN PUBLIC KEY-----)");
        assertThatIOException().isThrownBy(() -> policyOf(certificate)).withMessageStartingWith(
                certificate + ": holds a \"CERTIFICATE\" block; only public keys");
        assertThatIOException().isThrownBy(() -> policyOf(garbage))
                .withMessage(garbage + ": public key 1 is not a DER SubjectPublicKeyInfo");
        assertThatIOException().isThrownBy(() -> policyOf(k256)).withMessage(k256 + ": public key 1 is on the curve"
                + " 1.3.132.0.10; cosign's ECDSA keys are on P-256, P-384 or P-521");
        assertThatIOException().isThrownBy(() -> policyOf(weak))
                .withMessage(weak + ": public key 1 is RSA of 1024 bits; at least 2048 are needed");
        assertThatIOException().isThrownBy(() -> policyOf(huge)).withMessageStartingWith(huge + ": larger than");
    }

    private TrustPolicy policyOf(Path key) throws IOException {
        return TrustPolicy.of(List.of(TrustRule.of(List.of("**"), key)), time);
    }

    @Test
    void rotatedKeyAppliesAtTheNextCheckAndRaisesTheGeneration() throws IOException {
        Path ci = key("ci.pub", CI);
        TrustPolicy policy = policyOf(ci);
        assertThat(policy.generation()).isEqualTo(1);

        replace(ci, TestKey.pem(NEXT.publicKey()));
        time.advance(Duration.ofMillis(999));
        assertThat(policy.rule("app").keys()).extracting(TrustKey::publicKey)
                .as("not looked at again within the second").containsExactly(CI.publicKey());

        time.advance(Duration.ofMillis(1));
        PolicyRule rule = policy.rule("app");

        assertThat(rule.keys()).extracting(TrustKey::publicKey).containsExactly(NEXT.publicKey());
        assertThat(rule.generation()).isEqualTo(2);
        assertThat(policy.generation()).isEqualTo(2);
    }

    @Test
    void keyFileRewrittenWithTheSameKeysKeepsTheGeneration() throws IOException {
        Path ci = key("ci.pub", CI);
        TrustPolicy policy = policyOf(ci);

        replace(ci, "the same key, rewritten\n" + TestKey.pem(CI.publicKey()));
        time.advance(Duration.ofSeconds(1));

        assertThat(policy.generation()).isEqualTo(1);
    }

    @Test
    void brokenRewriteKeepsTheKeysReadBeforeUntilAValidOneArrives() throws IOException {
        Path ci = key("ci.pub", CI);
        TrustPolicy policy = policyOf(ci);

        replace(ci, "-----BEGIN PUBLIC KEY-----\nMFkw");
        time.advance(Duration.ofSeconds(1));
        assertThat(policy.rule("app").keys()).extracting(TrustKey::publicKey).containsExactly(CI.publicKey());
        assertThat(policy.generation()).isEqualTo(1);

        Files.delete(ci);
        time.advance(Duration.ofSeconds(1));
        assertThat(policy.rule("app").keys()).extracting(TrustKey::publicKey).containsExactly(CI.publicKey());

        NEXT.writePem(ci);
        time.advance(Duration.ofSeconds(1));
        assertThat(policy.rule("app").keys()).extracting(TrustKey::publicKey).containsExactly(NEXT.publicKey());
        assertThat(policy.generation()).isEqualTo(2);
    }

    @Test
    void secretVolumeSymlinkSwapIsSeen() throws IOException {
        // a Kubernetes Secret volume: key.pub -> ..data/key.pub, ..data -> ..2026_01_01 (swapped atomically)
        Path first = Files.createDirectory(dir.resolve("..2026_01_01"));
        Path second = Files.createDirectory(dir.resolve("..2026_01_02"));
        CI.writePem(first.resolve("key.pub"));
        NEXT.writePem(second.resolve("key.pub"));
        FileTime same = FileTime.from(Instant.parse("2026-01-01T00:00:00Z"));
        Files.setLastModifiedTime(first.resolve("key.pub"), same);
        Files.setLastModifiedTime(second.resolve("key.pub"), same);
        Path data = Files.createSymbolicLink(dir.resolve("..data"), first.getFileName());
        Path key = Files.createSymbolicLink(dir.resolve("key.pub"), Path.of("..data", "key.pub"));
        TrustPolicy policy = policyOf(key);

        Path swap = Files.createSymbolicLink(dir.resolve("..data_tmp"), second.getFileName());
        Files.move(swap, data, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        time.advance(Duration.ofSeconds(1));

        assertThat(policy.rule("app").keys()).extracting(TrustKey::publicKey).containsExactly(NEXT.publicKey());
        assertThat(policy.rule("app").keys()).extracting(TrustKey::file).containsExactly(key);
    }

    @Test
    void keyFileSharedByRulesIsReadOnceAndRotatesForEach() throws IOException {
        Path ci = key("ci.pub", CI);
        TrustPolicy policy = TrustPolicy.of(List.of(TrustRule.of(List.of("a/**"), ci),
                TrustRule.of(List.of("b/**"), ci, key("extra.pub", TestKey.ed25519()))), time);

        replace(ci, TestKey.pem(NEXT.publicKey()));
        time.advance(Duration.ofSeconds(1));

        assertThat(policy.rule("a/app").keys()).extracting(TrustKey::publicKey).containsExactly(NEXT.publicKey());
        assertThat(policy.rule("b/app").keys()).hasSize(2).first().extracting(TrustKey::publicKey)
                .isEqualTo(NEXT.publicKey());
        assertThat(policy.rules()).extracting(PolicyRule::generation).containsOnly(2L);
    }

    @Test
    void rotatedKeyChangesTheVerdict() throws IOException {
        Path ci = key("ci.pub", CI);
        TrustPolicy policy = policyOf(ci);
        FakeRegistry registry = new FakeRegistry();
        String image = FakeRegistry.sha256("image".getBytes(StandardCharsets.UTF_8));
        Artifact sig = registry.manifest(null, Cosign.simpleSigning(CI, Cosign.payload(image)));
        SignatureVerifier verifier = SignatureVerifier.create();
        assertThat(verifier.verify(image, policy.rule("app"), List.of(sig), registry).trusted()).isTrue();

        replace(ci, TestKey.pem(NEXT.publicKey()));
        time.advance(Duration.ofSeconds(1));

        assertThat(verifier.verify(image, policy.rule("app"), List.of(sig), registry).trusted()).isFalse();
    }
}
