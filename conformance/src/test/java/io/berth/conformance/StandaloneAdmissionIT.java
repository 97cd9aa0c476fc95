package io.berth.conformance;

import static io.berth.conformance.CosignKit.args;
import static io.berth.conformance.CosignKit.legacyTag;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.conformance.CosignKit.Version;
import io.berth.server.config.ConfigLoader;
import io.berth.server.http.StandaloneAdmission;
import io.berth.testing.RegistryClient;
import io.berth.testing.TestPki;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code berth admission}, the webhook alone, for images kept in another registry (after a move to Harbor or Nexus):
 * against registry:2 2.8.2 and distribution v3.0.0 holding images signed by real cosign v2 ({@code .sig} tags) and v3
 * (bundles, which cosign stores under the OCI 1.1 referrers tag where a registry has no referrers API). Same answers
 * as Berth's own webhook; a deleted signature is seen once the verdict's cache time has passed.
 */
class StandaloneAdmissionIT {
    private static final String HOST = "harbor.mycorp.local";

    static Stream<String> peers() {
        return Stream.of("registry2", "distribution-v3");
    }

    @ParameterizedTest
    @MethodSource("peers")
    void theStandaloneWebhookAdmitsOnlyImagesSignedByTheTrustedKeyInAnotherRegistry(String peer, @TempDir Path work) throws Exception {
        String binary = peer.equals("registry2") ? Peers.tool("REGISTRY2") : Registry2.distributionV3();
        try (Registry2 registry = Registry2.serve(binary, work.resolve("volume"), work)) {
            CosignKit kit = CosignKit.generate(work.resolve("keys"));
            PeerCli crane = PeerCli.of("CRANE", work.resolve("crane"));
            String v2Signed = push(crane, registry, work, "apps/app:v2", 1);
            String v3Signed = push(crane, registry, work, "apps/app:v3", 2);
            String unsigned = push(crane, registry, work, "apps/app:unsigned", 3);
            PeerCli v2 = PeerCli.of(Version.V2.peer, work.resolve("cosign2"), Map.of("COSIGN_PASSWORD", ""));
            PeerCli v3 = PeerCli.of(Version.V3.peer, work.resolve("cosign3"), Map.of("COSIGN_PASSWORD", ""));
            v2.ok(args("sign", "--key", kit.privateKey(Version.V2, "ci"), kit.airGapped(Version.V2), registry.hostAndPort() + "/apps/app@" + v2Signed));
            v3.ok(args("sign", "--key", kit.privateKey(Version.V3, "ci"), kit.airGapped(Version.V3), registry.hostAndPort() + "/apps/app@" + v3Signed));

            TestPki.Ca pki = TestPki.Ca.root("standalone webhook test CA");
            pki.server("127.0.0.1").writeTo(work.resolve("tls.crt"), work.resolve("tls.key"));
            Path config = Files.writeString(work.resolve("admission.yml"), """
                    version: 0.1
                    log:
                      level: warn
                    berth:
                      trust:
                        - repositories: ["apps/**"]
                          keys: [%s, %s]
                      admission:
                        addr: 127.0.0.1:0
                        tls: {certificate: %s, key: %s}
                        hosts: [%s]
                        registry:
                          url: http://%s
                          cacheTtl: 1s
                    """.formatted(kit.publicKey(Version.V2, "ci"), kit.publicKey(Version.V3, "ci"), work.resolve("tls.crt"),
                    work.resolve("tls.key"), HOST, registry.hostAndPort()));
            try (StandaloneAdmission webhook = StandaloneAdmission.start(ConfigLoader.load(config, Map.of()));
                    RegistryClient client = RegistryClient.builder(URI.create("https://127.0.0.1:" + webhook.address().getPort()))
                            .trust(pki).build()) {
                assertThat(review(client, v2Signed)).as("signed by cosign v2 (.sig tag)").isNull();
                assertThat(review(client, v3Signed)).as("signed by cosign v3 (bundle)").isNull();
                assertThat(review(client, unsigned)).as("unsigned").contains("container \"app\"");
                assertThat(review(client, "sha256:" + "0".repeat(64))).contains("is not in the registry");

                // Delete the v2 signature at the registry: refused once the 1 s verdict has expired.
                String sigDigest = crane.text("digest", "--insecure", registry.hostAndPort() + "/apps/app:" + legacyTag(v2Signed, "sig"));
                crane.ok("delete", "--insecure", registry.hostAndPort() + "/apps/app@" + sigDigest);
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (review(client, v2Signed) == null) {
                    assertThat(System.nanoTime()).as("the deleted signature is seen after the cache time").isLessThan(deadline);
                    Thread.sleep(200);
                }
            }
        }
    }

    private static String push(PeerCli crane, Registry2 registry, Path work, String repoTag, long seed) {
        return CraneSeed.digestOf(crane.text("append", "--insecure", "-f", CosignKit.tinyLayer(work, seed).toString(),
                "-t", registry.hostAndPort() + "/" + repoTag));
    }

    /** Null when the webhook admits a pod running {@code apps/app@digest}, else its refusal. */
    private static String review(RegistryClient webhook, String digest) {
        ObjectNode review = RegistryHttp.JSON.createObjectNode();
        review.put("apiVersion", "admission.k8s.io/v1");
        review.put("kind", "AdmissionReview");
        ObjectNode request = review.putObject("request");
        request.put("uid", "u");
        request.putObject("kind").put("kind", "Pod");
        request.put("operation", "CREATE");
        request.putObject("object").putObject("spec").putArray("containers").addObject().put("name", "app")
                .put("image", HOST + "/apps/app@" + digest);
        HttpResponse<byte[]> r = webhook.send("POST", "/validate", review.toString().getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode response = RegistryHttp.json(r.body()).path("response");
        return response.path("allowed").asBoolean() ? null : response.path("status").path("message").asText();
    }

}
