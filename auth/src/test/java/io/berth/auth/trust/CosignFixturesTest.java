package io.berth.auth.trust;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.auth.trust.FakeRegistry.Layer;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The real artifacts cosign v2.6.5 and v3.1.3 pushed to Berth ({@code src/test/resources/cosign}, see its README),
 * checked byte for byte as stored.
 */
class CosignFixturesTest {
    private static final Path ROOT = root();
    private static final String SLSA_02 = "https://slsa.dev/provenance/v0.2";

    private final SignatureVerifier verifier = SignatureVerifier.create();

    /** One case directory: what was signed, the signature manifest, and its blobs. */
    private record Case(String subject, Path key, Artifact artifact, BlobReader blobs) {
        static Case load(String name) throws IOException {
            Path dir = ROOT.resolve(name);
            JsonNode facts = FakeRegistry.JSON.readTree(dir.resolve("case.json").toFile());
            byte[] manifest = Files.readAllBytes(dir.resolve("manifest.json"));
            String digest = Files.readString(dir.resolve("manifest.digest")).strip();
            BlobReader blobs = (blob, size) -> {
                Path file = dir.resolve("blobs").resolve(blob.substring("sha256:".length()));
                return Files.exists(file) ? Files.readAllBytes(file) : null;
            };
            return new Case(facts.get("subject").textValue(), ROOT.resolve(facts.get("key").textValue()),
                    Artifact.of(digest, manifest), blobs);
        }
    }

    private static PolicyRule rule(Path key, String... attestations) throws IOException {
        return TrustPolicy.of(List.of(new TrustRule(List.of("fixtures/**"), List.of(key), List.of(attestations))))
                .rule("fixtures/app");
    }

    private Verdict verify(Case c, PolicyRule rule, String subject) throws IOException {
        return verifier.verify(subject, rule, List.of(c.artifact()), c.blobs());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "v2-sign, ECDSA_P256",
        "v2-sign-rsa, RSA",
        "v2-sign-p384, ECDSA_P384",
        "v2-sign-ed25519, ED25519",
        "v3-sign, ECDSA_P256",
        "v3-sign-rsa, RSA",
        "v3-sign-p384, ECDSA_P384",
        "v3-sign-ed25519, ED25519",
        "v3-sign-index, ECDSA_P256",
    })
    void realSignatureIsTrustedUnderItsKey(String name, KeyType type) throws IOException {
        Case c = Case.load(name);

        Verdict verdict = verify(c, rule(c.key()), c.subject());

        assertThat(verdict.trusted()).as(verdict.reason()).isTrue();
        assertThat(verdict.rejected()).isEmpty();
        assertThat(verdict.verified()).singleElement().satisfies(claim -> {
            assertThat(claim.claim()).isEqualTo(Claim.signature());
            assertThat(claim.key().type()).isEqualTo(type);
            assertThat(claim.artifact()).isEqualTo(c.artifact().digest());
        });
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"v2-attest", "v3-attest"})
    void realAttestationIsVerifiedAsSlsaProvenance(String name) throws IOException {
        Case c = Case.load(name);

        Verdict verdict = verify(c, rule(c.key(), SLSA_02), c.subject());

        assertThat(verdict.rejected()).isEmpty();
        assertThat(verdict.claims()).containsExactly(Claim.attestation(SLSA_02));
        assertThat(verdict.missing()).containsExactly("a signature");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"v2-sign", "v2-attest", "v3-sign", "v3-attest", "v3-sign-index", "v2-sign-rsa", "v3-sign-ed25519"})
    void realArtifactIsRefusedUnderAnotherKey(String name) throws IOException {
        Case c = Case.load(name);

        Verdict verdict = verify(c, rule(ROOT.resolve("keys/other.pub")), c.subject());

        assertThat(verdict.verified()).isEmpty();
        assertThat(verdict.rejected()).singleElement().extracting(Rejection::reason)
                .isEqualTo("layer 0: the signature was not made by the key of berth.trust[0]");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"v2-sign", "v2-attest", "v3-sign", "v3-attest", "v3-sign-index"})
    void realArtifactProvesNothingAboutAnotherDigest(String name) throws IOException {
        Case c = Case.load(name);
        String another = Case.load(name.startsWith("v2") ? "v2-sign-rsa" : "v3-sign-rsa").subject();

        Verdict verdict = verify(c, rule(c.key()), another);

        assertThat(verdict.verified()).isEmpty();
        assertThat(verdict.trusted()).isFalse();
        assertThat(verdict.rejected()).singleElement().extracting(Rejection::reason).asString()
                .satisfiesAnyOf(
                        // a tag artifact has no subject: the signed payload names the image
                        reason -> assertThat(reason).isEqualTo("layer 0: the payload signs " + c.subject() + ", not "
                                + another),
                        reason -> assertThat(reason).isEqualTo("layer 0: the statement's subject is " + c.subject()
                                + ", not " + another),
                        // a referrer names its subject, which is checked first
                        reason -> assertThat(reason).isEqualTo("the manifest's subject is " + c.subject() + ", not "
                                + another));
    }

    @Test
    void realBundleMovedToAnotherSubjectIsStillRefusedByItsStatement() throws IOException {
        Case c = Case.load("v3-sign");
        String another = Case.load("v3-sign-rsa").subject();
        Layer bundle = realLayer(c);

        // the same bundle layer in a new referrer manifest that claims the other image as its subject
        FakeRegistry registry = new FakeRegistry();
        Verdict verdict = verifier.verify(another, rule(c.key()), List.of(registry.manifest(another, bundle)),
                registry);

        assertThat(verdict.rejected()).singleElement().extracting(Rejection::reason)
                .isEqualTo("layer 0: the statement's subject is " + c.subject() + ", not " + another);
    }

    @Test
    void realSimpleSigningPayloadEditedToNameAnotherImageIsRefused() throws IOException {
        Case c = Case.load("v2-sign");
        String another = Case.load("v2-sign-rsa").subject();
        Layer signed = realLayer(c);
        byte[] edited = new String(signed.content(), StandardCharsets.UTF_8).replace(c.subject(), another)
                .getBytes(StandardCharsets.UTF_8);

        FakeRegistry registry = new FakeRegistry();
        Verdict verdict = verifier.verify(another, rule(c.key()),
                List.of(registry.manifest(null, signed.withContent(edited))), registry);

        assertThat(verdict.trusted()).isFalse();
        assertThat(verdict.rejected()).singleElement().extracting(Rejection::reason)
                .isEqualTo("layer 0: the signature was not made by the key of berth.trust[0]");
    }

    @Test
    void realBundleWithItsStatementEditedIsRefused() throws IOException {
        Case c = Case.load("v3-sign");
        String another = Case.load("v3-sign-rsa").subject();
        Layer signed = realLayer(c);
        ObjectNode bundle = (ObjectNode) FakeRegistry.JSON.readTree(signed.content());
        ObjectNode envelope = (ObjectNode) bundle.get("dsseEnvelope");
        String statement = new String(Base64.getDecoder().decode(envelope.get("payload").textValue()),
                StandardCharsets.UTF_8);
        envelope.put("payload", Base64.getEncoder().encodeToString(statement.replace(c.subject().substring(7),
                another.substring(7)).getBytes(StandardCharsets.UTF_8)));

        FakeRegistry registry = new FakeRegistry();
        Verdict verdict = verifier.verify(another, rule(c.key()),
                List.of(registry.manifest(another, signed.withContent(FakeRegistry.bytes(bundle)))), registry);

        assertThat(verdict.rejected()).singleElement().extracting(Rejection::reason)
                .isEqualTo("layer 0: the signature was not made by the key of berth.trust[0]");
    }

    @Test
    void everyFixtureKeyIsReadWithItsType() throws IOException {
        Map<String, KeyType> expected = new LinkedHashMap<>();
        expected.put("ci.pub", KeyType.ECDSA_P256);
        expected.put("other.pub", KeyType.ECDSA_P256);
        expected.put("rsa.pub", KeyType.RSA);
        expected.put("p384.pub", KeyType.ECDSA_P384);
        expected.put("ed25519.pub", KeyType.ED25519);
        for (Map.Entry<String, KeyType> entry : expected.entrySet()) {
            assertThat(PublicKeys.read(ROOT.resolve("keys").resolve(entry.getKey())))
                    .singleElement().extracting(TrustKey::type).isEqualTo(entry.getValue());
        }
    }

    @Test
    void privateKeyFileIsNotTakenForAPublicKey() {
        org.assertj.core.api.Assertions.assertThatIOException()
                .isThrownBy(() -> PublicKeys.read(ROOT.resolve("keys/ci.key")))
                .withMessageEndingWith("holds a \"ENCRYPTED SIGSTORE PRIVATE KEY\" block; only public keys"
                        + " (-----BEGIN PUBLIC KEY-----, as in cosign.pub) are read");
    }

    /** The one layer of a case's manifest: its media type, annotations and stored bytes. */
    private static Layer realLayer(Case c) throws IOException {
        JsonNode layer = FakeRegistry.JSON.readTree(c.artifact().manifest()).get("layers").get(0);
        Map<String, String> annotations = new LinkedHashMap<>();
        JsonNode map = layer.get("annotations");
        if (map != null) {
            map.properties().forEach(e -> annotations.put(e.getKey(), e.getValue().textValue()));
        }
        byte @Nullable [] content = c.blobs().read(layer.get("digest").textValue(), layer.get("size").longValue());
        assertThat(content).isNotNull();
        return new Layer(layer.get("mediaType").textValue(), content, annotations);
    }

    private static Path root() {
        try {
            return Path.of(CosignFixturesTest.class.getResource("/cosign").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
