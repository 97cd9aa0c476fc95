package io.berth.conformance;

import static io.berth.conformance.CosignKit.args;
import static io.berth.conformance.CosignKit.legacyTag;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.conformance.CosignKit.Version;
import io.berth.conformance.S3Replicas.Replica;
import io.berth.testing.PodReviews;
import io.berth.testing.RegistryClient;
import io.berth.testing.TestPki;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Signed images on two replicas of one S3 bucket: cosign signs through replica A, and replica B's admission webhook
 * admits the image at its next review; the signature deleted through A, B refuses at its next review. A verdict a
 * replica keeps is tied to the repository's generation, which is read from the bucket, so a change made through another
 * replica is never answered from a stale verdict. cosign v2 ({@code .sig} tags) and v3 (bundle referrers), pushing over
 * plain HTTP ({@code --allow-http-registry}); each webhook on its own TLS port, as the API server calls it.
 */
class S3ReplicaSignaturesIT {
    /** The registry host name images use; the webhook only compares it. */
    private static final String HOST = "registry.mycorp.local";

    @TempDir
    static Path work;

    private static S3Replicas replicas;
    private static CosignKit kit;
    private static TestPki.Ca ca;
    private static int[] admissionPorts;
    private static final List<RegistryClient> webhooks = new ArrayList<>();

    @BeforeAll
    static void start() throws IOException {
        kit = CosignKit.generate(work.resolve("keys"));
        ca = TestPki.Ca.root("berth-s3-admission-ca");
        Path tls = Files.createDirectories(work.resolve("tls"));
        ca.server("admission").writeTo(tls.resolve("tls.crt"), tls.resolve("tls.key"));
        admissionPorts = new int[] {Daemon.freePort(), Daemon.freePort()};
        String yaml = """
                berth:
                  trust:
                    - repositories: ["signed/v2/**"]
                      keys: ["%s"]
                    - repositories: ["signed/v3/**"]
                      keys: ["%s"]
                  admission:
                    addr: 127.0.0.1:0
                    tls:
                      certificate: %s
                      key: %s
                    hosts: [%s]
                """.formatted(kit.publicKey(Version.V2, "ci"), kit.publicKey(Version.V3, "ci"), tls.resolve("tls.crt"), tls.resolve("tls.key"), HOST);
        replicas = S3Replicas.start(work.resolve("s3"), 2, yaml, i -> Map.of("REGISTRY_BERTH_ADMISSION_ADDR", "127.0.0.1:" + admissionPorts[i]));
        for (int port : admissionPorts) {
            webhooks.add(RegistryClient.builder(URI.create("https://127.0.0.1:" + port)).trust(ca).build());
        }
    }

    @AfterAll
    static void stop() {
        List<AutoCloseable> all = new ArrayList<>(webhooks);
        all.add(replicas);
        Daemon.closeAll(all.toArray(AutoCloseable[]::new));
    }

    @ParameterizedTest
    @EnumSource(Version.class)
    void aSignaturePushedOrDeletedThroughOneReplicaChangesTheOthersVerdictAtItsNextReview(Version v, @TempDir Path home) throws Exception {
        Replica a = replicas.get(0);
        Replica b = replicas.get(1);
        String repo = "signed/" + v.name().toLowerCase(Locale.ROOT) + "/app";
        PeerCli crane = PeerCli.of("CRANE", home.resolve("crane"));
        String digest = CraneSeed.digestOf(crane.text("append", "--insecure", "-f", CosignKit.tinyLayer(home, 31).toString(),
                "-t", a.hostAndPort() + "/" + repo + ":build-1"));
        assertThat(review(1, repo, digest)).as("unsigned, on B").contains(digest);

        PeerCli cosign = PeerCli.of(v.peer, home.resolve("cosign"), Map.of("COSIGN_PASSWORD", ""));
        String ref = a.hostAndPort() + "/" + repo + "@" + digest;
        cosign.ok(args("sign", "--allow-http-registry", "--key", kit.privateKey(v, "other"), kit.airGapped(v), ref));
        assertThat(review(1, repo, digest)).as("signed through A by another key only, on B").isNotNull();

        cosign.ok(args("sign", "--allow-http-registry", "--key", kit.privateKey(v, "ci"), kit.airGapped(v), ref));
        assertThat(review(1, repo, digest)).as("signed through A by the trusted key, on B").isNull();
        assertThat(review(0, repo, digest)).as("signed through A by the trusted key, on A").isNull();

        // What the trusted key signed, deleted through A: v2's .sig tag manifest (it holds both signatures), v3's referrers.
        if (v == Version.V2) {
            HttpResponse<byte[]> sig = RegistryClient.expect(a.client().head("/v2/" + repo + "/manifests/" + legacyTag(digest, "sig"),
                    "Accept", RegistryHttp.MANIFEST_TYPES), 200);
            delete(a, repo, sig.headers().firstValue("Docker-Content-Digest").orElseThrow());
        } else {
            HttpResponse<byte[]> listing = RegistryClient.expect(a.client().get("/v2/" + repo + "/referrers/" + digest), 200);
            for (JsonNode d : RegistryHttp.json(listing.body()).path("manifests")) {
                delete(a, repo, d.path("digest").asText());
            }
        }
        assertThat(review(1, repo, digest)).as("the signature deleted through A, on B").isNotNull();
        assertThat(review(0, repo, digest)).as("the signature deleted through A, on A").isNotNull();
    }

    private static void delete(Replica via, String repo, String digest) {
        RegistryClient.expect(via.client().send("DELETE", "/v2/" + repo + "/manifests/" + digest, null), 202);
    }

    /** Replica {@code i}'s webhook's answer for a pod running {@code repo@digest}: null when admitted, else the refusal. */
    private static @Nullable String review(int i, String repo, String digest) {
        String uid = "uid-" + digest.substring(7, 19);
        HttpResponse<byte[]> r = webhooks.get(i).send("POST", "/validate", PodReviews.create(uid, HOST + "/" + repo + "@" + digest),
                "Content-Type", "application/json");
        assertThat(r.statusCode()).as(RegistryClient.text(r)).isEqualTo(200);
        JsonNode response = RegistryHttp.json(r.body()).path("response");
        assertThat(response.path("uid").asText()).isEqualTo(uid);
        return response.path("allowed").asBoolean() ? null : response.path("status").path("message").asText();
    }
}
