package io.berth.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.conformance.Daemon;
import io.berth.conformance.Proc;
import io.berth.server.config.ConfigLoader;
import io.berth.server.http.StandaloneAdmission;
import io.berth.testing.TestPki;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Signed images with the shipped pieces and k8s/README.md's commands, end to end: Berth as the cluster runs it
 * ({@link RenderedBerth}, its trust rule on the key in Secret berth-cosign); CI pushes as {@code ci} and signs by
 * digest with the real cosign, air-gapped (v3 with an empty signing config and trusted root, v2 with
 * {@code --tlog-upload=false}); Berth's webhook admits exactly those digests. Then {@code berth admission} as
 * components/admission-standalone ships it (its admission.yml with the Deployment's environment): reading Berth over
 * HTTPS with the {@code cluster} pull account, and a registry:2 that the README's copy commands filled
 * ({@code oras cp -r} for v3's signatures, {@code crane copy} of v2's {@code .sig} tag). Reviews are posted to the
 * webhooks directly; AdmissionWebhookIT covers the API server's side.
 */
class SignedImagesIT {
    /** The hosts the standalone's Deployment names (its REGISTRY_BERTH_ADMISSION_HOSTS). */
    private static final String NEW_HOST = "harbor.example.org";
    private static final String UNSIGNED = "no valid signature by a key of berth.trust[0]";

    @TempDir
    static Path work;

    private static RenderedBerth berth;
    private static HttpClient client;
    private static String v3Signed;
    private static String v2Signed;
    private static String unsigned;

    @BeforeAll
    static void start() throws Exception {
        berth = RenderedBerth.start(work);
        client = HttpClient.newBuilder().sslContext(TestPki.trusting(berth.secrets().resolve("ca.crt"))).connectTimeout(Duration.ofSeconds(5)).build();
        crane("auth", "login", berth.host(), "-u", "ci", "-p", berth.password("ci")).requireSuccess();
        v3Signed = push("team/app:v3");
        v2Signed = push("team/app:v2");
        unsigned = push("team/app:unsigned");
        // k8s/README.md, "CI": after the push, cosign signs the digest, as ci, with the credentials crane saved.
        berth.cosign().sign(berth.host() + "/team/app@" + v3Signed, ci()).requireSuccess();
        berth.cosign().signV2(berth.host() + "/team/app@" + v2Signed, ci()).requireSuccess();
    }

    @AfterAll
    static void stop() {
        Daemon.closeAll(client, berth);
    }

    @Test
    void berthsWebhookAdmitsTheDigestsCiSignedAndRefusesAnUnsignedOne() throws Exception {
        URI webhook = URI.create("https://127.0.0.1:" + berth.admissionAddress().getPort() + "/validate");
        assertThat(review(webhook, Workloads.HOST + "/team/app@" + v3Signed)).as("cosign v3, air-gapped").isNull();
        assertThat(review(webhook, Workloads.HOST + "/team/app@" + v2Signed)).as("cosign v2, --tlog-upload=false").isNull();
        String image = Workloads.HOST + "/team/app@" + unsigned;
        assertThat(review(webhook, image)).contains("container \"app\" image \"" + image + "\": " + UNSIGNED);
    }

    @Test
    void theShippedStandaloneReadsSignaturesOverHttpsWithThePullAccount() throws Exception {
        try (StandaloneAdmission webhook = standalone("https://" + berth.host(), "cluster", berth.password("cluster"),
                berth.secrets().resolve("ca.crt"))) {
            URI uri = URI.create("https://127.0.0.1:" + webhook.address().getPort() + "/validate");
            assertThat(review(uri, NEW_HOST + "/team/app@" + v3Signed)).isNull();
            assertThat(review(uri, NEW_HOST + "/team/app@" + v2Signed)).isNull();
            assertThat(review(uri, NEW_HOST + "/team/app@" + unsigned)).contains(UNSIGNED);
        }
    }

    @Test
    void signaturesCopiedAsTheReadmeSaysHoldInTheNewRegistry() throws Exception {
        Path root = Files.createDirectories(work.resolve("new-registry"));
        int port = Daemon.freePort();
        Path config = Files.writeString(root.resolve("config.yml"), """
                version: 0.1
                log:
                  level: warn
                storage:
                  filesystem:
                    rootdirectory: %s
                http:
                  addr: 127.0.0.1:%d
                """.formatted(root.resolve("data"), port));
        String target = "127.0.0.1:" + port;
        try (Daemon registry = Daemon.start(List.of(Tools.tool("REGISTRY2"), "serve", config.toString()), Map.of(), Duration.ofSeconds(30),
                () -> status(URI.create("http://" + target + "/v2/")) == 200)) {
            for (String digest : List.of(v3Signed, v2Signed, unsigned)) {
                oras("cp", "-r", "--from-username", "cluster", "--from-password", berth.password("cluster"), "--to-plain-http",
                        berth.host() + "/team/app@" + digest, target + "/team/app@" + digest).requireSuccess();
            }
            String sigTag = v2Signed.replace(':', '-') + ".sig";
            crane("copy", berth.host() + "/team/app:" + sigTag, target + "/team/app:" + sigTag).requireSuccess();

            try (StandaloneAdmission webhook = standalone("http://" + target, "robot", "unused", null)) {
                URI uri = URI.create("https://127.0.0.1:" + webhook.address().getPort() + "/validate");
                assertThat(review(uri, NEW_HOST + "/team/app@" + v3Signed)).as("v3's bundle, copied by oras cp -r").isNull();
                assertThat(review(uri, NEW_HOST + "/team/app@" + v2Signed)).as("v2's .sig tag, copied by crane").isNull();
                assertThat(review(uri, NEW_HOST + "/team/app@" + unsigned)).contains(UNSIGNED);
            }
        }
    }

    /**
     * {@code berth admission} as components/admission-standalone runs it: its admission.yml with the Deployment's
     * environment, the registry's URL, account and CA set as k8s/README.md says, the Secrets' files at the test's paths.
     */
    private static StandaloneAdmission standalone(String url, String username, String password, @Nullable Path ca)
            throws IOException, InterruptedException {
        Manifests m = ManifestsIT.withComponents("admission-standalone");
        Map<String, String> env = new HashMap<>(m.env("Deployment", "berth-admission"));
        env.remove("BERTH_JAVA_OPTS");
        env.put("REGISTRY_BERTH_ADMISSION_ADDR", "127.0.0.1:0");
        env.put("REGISTRY_BERTH_ADMISSION_REGISTRY_URL", url);
        env.put("REGISTRY_BERTH_ADMISSION_REGISTRY_USERNAME", username);
        if (ca != null) {
            env.put("REGISTRY_BERTH_ADMISSION_REGISTRY_CA", ca.toString());
        }
        Path secrets = berth.secrets();
        Path passwordFile = Files.writeString(Files.createTempFile(work, "registry-", ".password"), password);
        String yml = m.standaloneConfigYml();
        for (Map.Entry<String, Path> file : Map.of(RenderedBerth.COSIGN_PUB, secrets.resolve("cosign.pub"),
                "/etc/berth/admission/tls.crt", secrets.resolve("tls.crt"), "/etc/berth/admission/tls.key", secrets.resolve("tls.key"),
                "/etc/berth/registry/password", passwordFile).entrySet()) {
            assertThat(yml).contains(file.getKey());
            yml = yml.replace(file.getKey(), file.getValue().toString());
        }
        Path file = Files.writeString(Files.createTempFile(work, "admission-", ".yml"), yml);
        return StandaloneAdmission.start(ConfigLoader.load(file, env));
    }

    /** Posts an AdmissionReview for a pod running {@code image}; null when it is admitted, else the refusal. */
    private static @Nullable String review(URI webhook, String image) throws IOException, InterruptedException {
        ObjectNode review = Workloads.JSON.createObjectNode().put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
        ObjectNode request = review.putObject("request").put("uid", "review-1").put("operation", "CREATE");
        request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
        request.set("object", Workloads.pod("app", image));
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(webhook).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(Workloads.JSON.writeValueAsString(review))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode response = Workloads.JSON.readTree(r.body()).path("response");
        assertThat(response.path("uid").asText()).isEqualTo("review-1");
        return response.path("allowed").asBoolean(false) ? null : response.path("status").path("message").asText();
    }

    /** Pushes a one-layer image as ci; returns its digest. */
    private static String push(String repositoryAndTag) throws IOException {
        return CiCrane.push(work, berth.host(), ci(), repositoryAndTag, "signed images");
    }

    /** CI's environment: the registry's CA, and the docker config crane logged in to as ci. */
    private static Map<String, String> ci() {
        return CiCrane.env(work, berth.secrets().resolve("ca.crt"));
    }

    private static Proc.Result crane(String... args) {
        return CiCrane.run(ci(), args);
    }

    private static Proc.Result oras(String... args) {
        List<String> command = new ArrayList<>(List.of(Tools.tool("ORAS")));
        command.addAll(List.of(args));
        Map<String, String> env = new HashMap<>(berth.trustEnv());
        env.put("HOME", work.resolve("oras").toString());
        return Proc.run(command, env, Duration.ofMinutes(2), null);
    }

    private static int status(URI uri) {
        try {
            return client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

}
