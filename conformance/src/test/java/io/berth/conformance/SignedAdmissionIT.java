package io.berth.conformance;

import static io.berth.conformance.CosignKit.args;
import static io.berth.conformance.CosignKit.legacyTag;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.conformance.CosignKit.Version;
import io.berth.testing.PodReviews;
import io.berth.testing.RegistryClient;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Signed images only, decided by Berth from its own storage: the secure example with {@code berth.trust} rules and the
 * admission webhook on, images signed and attested by the real cosign CLI (v2's {@code .sig}/{@code .att} tags and v3's
 * bundle referrers), and AdmissionReviews posted to the webhook over TLS as the API server posts them. A deleted
 * signature and a rotated key change the verdict at the next review, without a restart.
 */
class SignedAdmissionIT {
    /** The registry host name images use; the webhook only compares it. */
    private static final String HOST = "registry.mycorp.local";

    @TempDir
    static Path work;

    private static SecureRegistry registry;
    private static CosignKit kit;
    private static Path keys;

    @BeforeAll
    static void start() throws IOException {
        kit = CosignKit.generate(work.resolve("keys"));
        keys = work.resolve("keys");
        for (Version v : Version.values()) {
            // The files the policy reads: copies, so that a test can rotate them.
            Files.copy(Path.of(kit.publicKey(v, "ci")), keys.resolve("trusted-" + v + ".pub"));
        }
        Path dir = work.resolve("registry");
        String trust = "[{repositories: ['signed/v2/**'], keys: ['%s']}, {repositories: ['signed/v3/**'], keys: ['%s']},"
                + " {repositories: ['attested/**'], keys: ['%s'], attestations: ['%s']}]";
        registry = SecureRegistry.start(dir, Map.of(
                "REGISTRY_BERTH_TRUST", trust.formatted(keys.resolve("trusted-V2.pub"), keys.resolve("trusted-V3.pub"),
                        kit.publicKey(Version.V3, "ci"), CosignKit.SLSA_PREDICATE),
                "REGISTRY_BERTH_ADMISSION_ADDR", "127.0.0.1:0",
                "REGISTRY_BERTH_ADMISSION_TLS_CERTIFICATE", dir.resolve("tls.crt").toString(),
                "REGISTRY_BERTH_ADMISSION_TLS_KEY", dir.resolve("tls.key").toString(),
                "REGISTRY_BERTH_ADMISSION_HOSTS", "[" + HOST + "]"));
    }

    @AfterAll
    static void stop() {
        Daemon.closeAll(registry);
    }

    /** The webhook's answer for a pod running {@code repo@digest}: null when admitted, else the refusal's message. */
    private static String review(String repo, String digest) {
        String uid = "uid-" + digest.substring(7, 19);
        String webhook = "https://127.0.0.1:" + Objects.requireNonNull(registry.admissionAddress()).getPort() + "/validate";
        HttpResponse<byte[]> r = registry.client().send("POST", webhook, PodReviews.create(uid, HOST + "/" + repo + "@" + digest),
                "Content-Type", "application/json");
        assertThat(r.statusCode()).as(RegistryClient.text(r)).isEqualTo(200);
        JsonNode response = RegistryHttp.json(r.body()).path("response");
        assertThat(response.path("uid").asText()).isEqualTo(uid);
        return response.path("allowed").asBoolean() ? null : response.path("status").path("message").asText();
    }

    private static PeerCli ci(Version v, Path home) {
        return CosignKit.login(v, home.resolve("ci"), "ci", registry);
    }

    /** Reviews until {@code admitted} holds (key files are re-read within a second), at most 10 s. */
    private static void awaitVerdict(String repo, String digest, boolean admitted) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while ((review(repo, digest) == null) != admitted) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the verdict on " + repo + "@" + digest + " never became " + (admitted ? "admitted" : "refused"));
            }
            Thread.sleep(100);
        }
    }

    @ParameterizedTest
    @EnumSource(Version.class)
    void onlyImagesSignedByTheTrustedKeyAreAdmittedAndADeletedSignatureIsRefusedAtTheNextReview(Version v, @TempDir Path home) throws Exception {
        String repo = "signed/" + v.name().toLowerCase(Locale.ROOT) + "/app";
        String digest = CosignKit.image(registry, home, repo + ":build-1", 11);
        String ref = registry.ref(repo + "@" + digest);
        assertThat(review(repo, digest)).as("unsigned").contains("container \"app\"").contains(digest);

        ci(v, home).ok(args("sign", "--key", kit.privateKey(v, "other"), kit.airGapped(v), ref));
        assertThat(review(repo, digest)).as("signed by another key only").isNotNull();

        ci(v, home).ok(args("sign", "--key", kit.privateKey(v, "ci"), kit.airGapped(v), ref));
        assertThat(review(repo, digest)).as("signed by the trusted key").isNull();
        assertThat(review("unsigned/app", CosignKit.image(registry, home, "unsigned/app:build-1", 12)))
                .as("a repository no rule matches needs no signature").isNull();

        // Delete what the trusted key signed: v2's .sig tag manifest, v3's bundle referrers.
        String admin = registry.token("admin", "repository:" + repo + ":pull,push,delete");
        if (v == Version.V2) {
            HttpResponse<byte[]> sig = registry.request("HEAD", "/v2/" + repo + "/manifests/" + legacyTag(digest, "sig"), admin);
            deleteManifest(repo, sig.headers().firstValue("Docker-Content-Digest").orElseThrow(), admin);
        } else {
            HttpResponse<byte[]> listing = registry.request("GET", "/v2/" + repo + "/referrers/" + digest, admin);
            for (JsonNode d : RegistryHttp.json(listing.body()).path("manifests")) {
                deleteManifest(repo, d.path("digest").asText(), admin);
            }
        }
        assertThat(review(repo, digest)).as("the signature was deleted").isNotNull();
    }

    private static void deleteManifest(String repo, String digest, String token) {
        HttpResponse<byte[]> r = registry.request("DELETE", "/v2/" + repo + "/manifests/" + digest, token);
        assertThat(r.statusCode()).as(RegistryClient.text(r)).isEqualTo(202);
    }

    @ParameterizedTest
    @EnumSource(Version.class)
    void aRotatedKeyAppliesWithoutARestart(Version v, @TempDir Path home) throws Exception {
        String repo = "signed/" + v.name().toLowerCase(Locale.ROOT) + "/rotated";
        String byCi = CosignKit.image(registry, home, repo + ":build-1", 21);
        String byOther = CosignKit.image(registry, home, repo + ":build-2", 22);
        ci(v, home).ok(args("sign", "--key", kit.privateKey(v, "ci"), kit.airGapped(v), registry.ref(repo + "@" + byCi)));
        ci(v, home).ok(args("sign", "--key", kit.privateKey(v, "other"), kit.airGapped(v), registry.ref(repo + "@" + byOther)));
        assertThat(review(repo, byCi)).isNull();
        assertThat(review(repo, byOther)).isNotNull();
        Path trusted = keys.resolve("trusted-" + v + ".pub");
        try {
            Path next = Files.copy(Path.of(kit.publicKey(v, "other")), keys.resolve("next-" + v + ".pub"));
            Files.move(next, trusted, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            awaitVerdict(repo, byOther, true);
            assertThat(review(repo, byCi)).as("the old key no longer counts").isNotNull();
        } finally {
            Files.copy(Path.of(kit.publicKey(v, "ci")), trusted, StandardCopyOption.REPLACE_EXISTING);
            awaitVerdict(repo, byCi, true);
        }
    }

    @Test
    void aV2SignatureCopiedToAnotherImageIsRefused(@TempDir Path home) throws Exception {
        String repo = "signed/v2/copied";
        String signed = CosignKit.image(registry, home, repo + ":build-1", 31);
        String other = CosignKit.image(registry, home, repo + ":build-2", 32);
        ci(Version.V2, home).ok(args("sign", "--key", kit.privateKey(Version.V2, "ci"), kit.airGapped(Version.V2), registry.ref(repo + "@" + signed)));
        PeerCli crane = registry.crane(home.resolve("crane"), "ci");
        crane.ok("copy", registry.ref(repo + ":" + legacyTag(signed, "sig")), registry.ref(repo + ":" + legacyTag(other, "sig")));
        assertThat(review(repo, signed)).isNull();
        assertThat(review(repo, other)).as("the payload names another digest").isNotNull();
    }

    @Test
    void anIndexSignedAtItsDigestIsAdmittedAndItsChildrenAreNot(@TempDir Path home) throws Exception {
        String repo = "signed/v3/multiarch";
        PeerCli crane = registry.crane(home.resolve("crane"), "ci");
        String amd64 = CosignKit.image(registry, home, repo + ":amd64", 41);
        String arm64 = CosignKit.image(registry, home, repo + ":arm64", 42);
        String index = CraneSeed.digestOf(crane.text("index", "append", "-m", registry.ref(repo + "@" + amd64),
                "-m", registry.ref(repo + "@" + arm64), "-t", registry.ref(repo + ":build-1")));
        ci(Version.V3, home).ok(args("sign", "--key", kit.privateKey(Version.V3, "ci"), kit.airGapped(Version.V3), registry.ref(repo + "@" + index)));
        assertThat(review(repo, index)).isNull();
        assertThat(review(repo, amd64)).as("a child carries no signature of its own").isNotNull();
    }

    @Test
    void attestationsAreRequiredWhereThePolicySaysSo(@TempDir Path home) throws Exception {
        String repo = "attested/app";
        String digest = CosignKit.image(registry, home, repo + ":build-1", 51);
        String ref = registry.ref(repo + "@" + digest);
        PeerCli ci = ci(Version.V3, home);
        ci.ok(args("sign", "--key", kit.privateKey(Version.V3, "ci"), kit.airGapped(Version.V3), ref));
        assertThat(review(repo, digest)).as("signed, not attested").contains(CosignKit.SLSA_PREDICATE);
        Path predicate = Files.writeString(home.resolve("predicate.json"), """
                {"builder":{"id":"https://ci.mycorp.local/builder"},"buildType":"https://ci.mycorp.local/build@v1"}""");
        ci.ok(args("attest", "--key", kit.privateKey(Version.V3, "ci"), "--type", "slsaprovenance", "--predicate", predicate.toString(),
                kit.airGapped(Version.V3), ref));
        assertThat(review(repo, digest)).as("signed and attested").isNull();
    }
}
