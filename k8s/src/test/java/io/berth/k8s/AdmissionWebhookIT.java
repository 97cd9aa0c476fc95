package io.berth.k8s;

import static io.berth.k8s.Workloads.HOST;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.conformance.Proc;
import io.berth.k8s.Workloads.Kind;
import io.berth.server.Berth;
import io.berth.server.config.ConfigLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.StandardCopyOption;
import java.net.http.HttpResponse;
import java.net.http.HttpRequest;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.jspecify.annotations.Nullable;

/**
 * Berth's image webhook on the real kube-apiserver, over TLS with a caBundle: the shipped
 * ValidatingWebhookConfiguration (its rules, matchConditions, failurePolicy and exempt namespaces), pointed at an
 * embedded Berth on loopback instead of the in-cluster Service, with its certificate from bootstrap-secrets.sh and
 * its caBundle written by webhook-ca-bundle.sh. The ValidatingAdmissionPolicy is applied too and stays the first
 * gate; every image here passes it, so what is refused is refused by Berth. Repositories under {@code signed/} need a
 * cosign signature by the key bootstrap-secrets.sh put in berth-cosign ({@code berth.trust}); the real cosign v3 signs
 * them as CI does (air-gapped), against Berth on plain HTTP.
 *
 * <p>The cluster is shared: the webhook only sees namespaces carrying {@link #LABEL}, and is deleted afterwards.
 * Berth is stopped by the last test.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdmissionWebhookIT {
    private static final String NS = "team-webhook";
    /** Only namespaces with this label reach this test's webhook; kube-system gets it too, to show the exemption. */
    private static final String LABEL = "berth-test/admission-webhook";
    private static final String WEBHOOK = "berth-images-webhook-it";
    private static final String WEBHOOKS = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations";
    private static final String DENIED = "admission webhook \"images.berth.io\" denied the request: Berth refused ";
    private static final AtomicInteger SEQ = new AtomicInteger();

    @TempDir
    static Path work;

    private static ControlPlane cp;
    private static Berth berth;
    private static String image;
    private static String typo;
    private static String legacyPod;
    private static Cosign cosign;
    private static String signed;
    private static String unsigned;

    @BeforeAll
    static void start() throws IOException {
        cp = SharedCluster.withBerthApplied();
        Policy.namespace(cp, NS, Map.of(LABEL, "on"));
        Policy.namespace(cp, "kube-system");
        labelKubeSystem("on");

        Path secrets = work.resolve("secrets");
        cosign = Cosign.generate(work.resolve("cosign"));
        script("bootstrap-secrets.sh", "--host", "127.0.0.1", "--namespace", NS, "--dir", secrets.toString(),
                "--cosign-pub", cosign.publicKey().toString());
        Path config = Files.writeString(work.resolve("config.yml"), """
                version: 0.1
                storage:
                  filesystem:
                    rootdirectory: %s
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:0
                berth:
                  trust:
                    - repositories: ["signed/**"]
                      keys: [%s]
                    - repositories: ["attested/**"]
                      keys: [%s]
                      attestations: ["https://slsa.dev/provenance/v0.2"]
                  admission:
                    addr: 127.0.0.1:0
                    tls:
                      certificate: %s
                      key: %s
                    hosts: [%s]
                """.formatted(work.resolve("data"), secrets.resolve("cosign.pub"), cosign.publicKey(), secrets.resolve("tls.crt"),
                        secrets.resolve("tls.key"), HOST));
        berth = Berth.builder().config(ConfigLoader.load(config, Map.of())).build();
        berth.start();

        String digest = push("team/app:v1");
        image = HOST + "/team/app@" + digest;
        String signedDigest = push("signed/app:v1");
        signed = HOST + "/signed/app@" + signedDigest;
        unsigned = HOST + "/signed/app@" + push("signed/app:v2");
        // k8s/README.md's CI step: cosign sign by digest, air-gapped (cosign v3: an empty signing config and trusted root)
        cosign.sign(berth.hostAndPort() + "/signed/app@" + signedDigest, Map.of()).requireSuccess();
        typo = HOST + "/team/app@sha256:" + "0".repeat(64);
        legacyPod = name("legacy");   // made before the webhook, as objects that predate it are
        assertThat(cp.create(Kind.POD.collection(NS), Workloads.pod(legacyPod, typo)).status()).isEqualTo(201);

        ObjectNode webhook = Manifests.render(Tools.k8sDir()).get("ValidatingWebhookConfiguration", "berth-images").deepCopy();
        ObjectNode metadata = webhook.putObject("metadata").put("name", WEBHOOK);
        metadata.putObject("labels").put("app.kubernetes.io/part-of", "berth");
        ObjectNode hook = (ObjectNode) webhook.path("webhooks").get(0);
        hook.putObject("clientConfig").put("url", "https://127.0.0.1:" + berth.admissionAddress().getPort() + "/validate");
        hook.withObject("namespaceSelector").withArray("matchExpressions").addObject().put("key", LABEL).put("operator", "Exists");
        ControlPlane.Response created = cp.create(WEBHOOKS, webhook);
        assertThat(created.status()).as("%s", created).isEqualTo(201);
        script("webhook-ca-bundle.sh", "--namespace", NS, "--webhook", WEBHOOK);

        Policy.await(cp, Duration.ofMinutes(1), "the API server to call Berth",
                () -> Policy.probe(cp, NS, typo).message().contains(DENIED) && Policy.probe(cp, NS, image).status() == 201);
    }

    @AfterAll
    static void stop() {
        try {
            if (cp != null) {
                cp.delete(WEBHOOKS + "/" + WEBHOOK);
                labelKubeSystem(null);
            }
        } finally {
            if (berth != null) {
                berth.close();
            }
        }
    }

    @Test
    void aPodPinnedToAManifestInBerthIsAdmitted() {
        ControlPlane.Response r = cp.create(Kind.POD.collection(NS), Workloads.pod(name("app"), image));
        assertThat(r.status()).as("%s", r).isEqualTo(201);
    }

    @Test
    void anImageSignedByTheTrustedKeyIsAdmittedAndAnUnsignedOneIsRefused() {
        ControlPlane.Response admitted = cp.create(Kind.POD.collection(NS), Workloads.pod(name("signed"), signed));
        assertThat(admitted.status()).as("%s", admitted).isEqualTo(201);

        ControlPlane.Response refused = cp.create(Kind.POD.collection(NS), Workloads.pod(name("unsigned"), unsigned));
        assertThat(refused.status()).as("%s", refused).isEqualTo(403);
        assertThat(refused.message()).contains(DENIED + "container \"app\" image \"" + unsigned + "\": no valid signature by a key of berth.trust[0]");
        ControlPlane.Response deployment = cp.create(Kind.DEPLOYMENT.collection(NS),
                Workloads.object(Kind.DEPLOYMENT, name("unsigned"), Workloads.podSpec(unsigned)));
        assertThat(deployment.status()).as("a template is checked as a pod is: %s", deployment).isEqualTo(403);
        assertThat(deployment.message()).contains("no valid signature");
    }

    @Test
    void aSignatureByAnotherKeyIsRefusedUntilThatKeyIsTrustedAndTheRotatedKeyAppliesWithoutARestart() throws Exception {
        String digest = push("signed/other:v1");
        String other = HOST + "/signed/other@" + digest;
        Cosign.generate(work.resolve("cosign-other")).sign(berth.hostAndPort() + "/signed/other@" + digest, Map.of()).requireSuccess();
        ControlPlane.Response r = cp.create(Kind.POD.collection(NS), Workloads.pod(name("other-key"), other));
        assertThat(r.status()).as("%s", r).isEqualTo(403);
        assertThat(r.message()).contains(DENIED + "container \"app\" image \"" + other + "\": no valid signature");

        // Rotate: the Secret's key file now holds the other key (a Secret volume swaps it in place); no restart.
        Path trusted = work.resolve("secrets").resolve("cosign.pub");
        byte[] original = Files.readAllBytes(trusted);
        try {
            Path next = Files.copy(work.resolve("cosign-other").resolve("cosign.pub"), work.resolve("secrets").resolve("cosign.pub.next"));
            Files.move(next, trusted, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Policy.await(cp, Duration.ofSeconds(30), "the rotated key to apply", () -> Policy.probe(cp, NS, other).status() == 201);
            assertThat(Policy.probe(cp, NS, signed).message()).as("the old key no longer counts").contains("no valid signature");
        } finally {
            Files.write(trusted, original);
            Policy.await(cp, Duration.ofSeconds(30), "the original key to apply again", () -> Policy.probe(cp, NS, signed).status() == 201);
        }
    }

    @Test
    void aDeletedSignatureIsRefusedAtTheNextAdmission() throws Exception {
        String digest = push("signed/deleted:v1");
        String ref = HOST + "/signed/deleted@" + digest;
        cosign.sign(berth.hostAndPort() + "/signed/deleted@" + digest, Map.of()).requireSuccess();
        assertThat(Policy.probe(cp, NS, ref).status()).isEqualTo(201);
        try (HttpClient http = HttpClient.newHttpClient()) {
            JsonNode referrers = Workloads.JSON.readTree(http.send(HttpRequest.newBuilder(berth.baseUri().resolve("/v2/signed/deleted/referrers/" + digest)).build(),
                    HttpResponse.BodyHandlers.ofByteArray()).body());
            assertThat(referrers.path("manifests")).isNotEmpty();
            for (JsonNode d : referrers.path("manifests")) {
                HttpResponse<Void> deleted = http.send(HttpRequest.newBuilder(berth.baseUri().resolve("/v2/signed/deleted/manifests/" + d.path("digest").asText()))
                        .DELETE().build(), HttpResponse.BodyHandlers.discarding());
                assertThat(deleted.statusCode()).isEqualTo(202);
            }
        }
        ControlPlane.Response r = Policy.probe(cp, NS, ref);
        assertThat(r.status()).as("%s", r).isEqualTo(403);
        assertThat(r.message()).contains("no valid signature");
    }

    @Test
    void aV2SignatureCopiedToAnotherDigestIsRefused() throws Exception {
        String signedDigest = push("signed/copied:v1");
        String otherDigest = push("signed/copied:v2");
        cosign.signV2(berth.hostAndPort() + "/signed/copied@" + signedDigest, Map.of()).requireSuccess();
        Map<String, String> env = Map.of("DOCKER_CONFIG", work.resolve("crane").toString());
        Proc.run(List.of(Tools.tool("CRANE"), "copy", "--insecure",
                berth.hostAndPort() + "/signed/copied:" + signedDigest.replace(':', '-') + ".sig",
                berth.hostAndPort() + "/signed/copied:" + otherDigest.replace(':', '-') + ".sig"), env, Duration.ofMinutes(1), null).requireSuccess();
        assertThat(Policy.probe(cp, NS, HOST + "/signed/copied@" + signedDigest).status()).isEqualTo(201);
        ControlPlane.Response r = Policy.probe(cp, NS, HOST + "/signed/copied@" + otherDigest);
        assertThat(r.status()).as("the copied payload names another digest: %s", r).isEqualTo(403);
    }

    @Test
    void anIndexSignedAtItsDigestIsAdmittedAndItsChildrenAreNot() throws Exception {
        String amd64 = push("signed/multiarch:amd64");
        String arm64 = push("signed/multiarch:arm64");
        Map<String, String> env = Map.of("DOCKER_CONFIG", work.resolve("crane").toString());
        Proc.run(List.of(Tools.tool("CRANE"), "index", "append", "--insecure",
                "-m", berth.hostAndPort() + "/signed/multiarch@" + amd64, "-m", berth.hostAndPort() + "/signed/multiarch@" + arm64,
                "-t", berth.hostAndPort() + "/signed/multiarch:v1"), env, Duration.ofMinutes(1), null).requireSuccess();
        String index = Proc.run(List.of(Tools.tool("CRANE"), "digest", "--insecure", berth.hostAndPort() + "/signed/multiarch:v1"), env,
                Duration.ofMinutes(1), null).requireSuccess().output().strip();
        cosign.sign(berth.hostAndPort() + "/signed/multiarch@" + index, Map.of()).requireSuccess();
        assertThat(Policy.probe(cp, NS, HOST + "/signed/multiarch@" + index).status()).isEqualTo(201);
        assertThat(Policy.probe(cp, NS, HOST + "/signed/multiarch@" + amd64).status()).as("a child has no signature of its own").isEqualTo(403);
    }

    @Test
    void attestationsAreRequiredWhereThePolicySaysSo() throws Exception {
        String digest = push("attested/app:v1");
        String ref = berth.hostAndPort() + "/attested/app@" + digest;
        cosign.sign(ref, Map.of()).requireSuccess();
        ControlPlane.Response r = Policy.probe(cp, NS, HOST + "/attested/app@" + digest);
        assertThat(r.status()).as("%s", r).isEqualTo(403);
        assertThat(r.message()).contains("https://slsa.dev/provenance/v0.2");
        Path predicate = Files.writeString(work.resolve("predicate.json"), """
                {"builder":{"id":"https://ci.mycorp.local/builder"},"buildType":"https://ci.mycorp.local/build@v1"}""");
        cosign.attest(ref, predicate).requireSuccess();
        assertThat(Policy.probe(cp, NS, HOST + "/attested/app@" + digest).status()).as("signed and attested").isEqualTo(201);
    }

    @Test
    void aTypoedDigestIsRefusedNamingTheContainerTheImageAndTheReason() {
        ObjectNode spec = Workloads.withInit(Workloads.podSpec(image), typo);
        ControlPlane.Response r = cp.create(Kind.POD.collection(NS), Workloads.object(Kind.POD, name("typo"), spec));
        assertThat(r.status()).as("%s", r).isEqualTo(403);
        assertThat(r.message()).contains(DENIED + "initContainer \"init\" image \"" + typo + "\": manifest sha256:")
                .contains("is not in the registry under team/app")
                .doesNotContain("container \"app\"");
    }

    @Test
    void aDigestFromAnotherRepositoryIsRefused() {
        String elsewhere = image.replace("/team/app@", "/team/other@");
        ControlPlane.Response r = cp.create(Kind.POD.collection(NS), Workloads.pod(name("other"), elsewhere));
        assertThat(r.status()).as("%s", r).isEqualTo(403);
        assertThat(r.message()).contains(DENIED + "container \"app\" image \"" + elsewhere + "\"", "not in the registry under team/other");
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void everyWorkloadKindsTemplateIsChecked(Kind kind) {
        ControlPlane.Response refused = cp.create(kind.collection(NS), Workloads.object(kind, name(kind.resource), Workloads.podSpec(typo)));
        assertThat(refused.status()).as("%s", refused).isEqualTo(403);
        assertThat(refused.message()).contains(DENIED + "container \"app\" image \"" + typo + "\"");
        ControlPlane.Response admitted = cp.create(kind.collection(NS), Workloads.object(kind, name(kind.resource), Workloads.podSpec(image)));
        assertThat(admitted.status()).as("%s", admitted).isEqualTo(201);
    }

    @Test
    void aDeploymentUpdatedToATypoedDigestIsRefused() {
        String deployment = name("deploy");
        assertThat(cp.create(Kind.DEPLOYMENT.collection(NS), Workloads.object(Kind.DEPLOYMENT, deployment, Workloads.podSpec(image))).status())
                .isEqualTo(201);
        ObjectNode current = (ObjectNode) cp.get(Kind.DEPLOYMENT.collection(NS) + "/" + deployment).body();
        ((ObjectNode) current.path("spec").path("template").path("spec").path("containers").get(0)).put("image", typo);
        ControlPlane.Response r = cp.put(Kind.DEPLOYMENT.collection(NS) + "/" + deployment, current);
        assertThat(r.status()).as("%s", r).isEqualTo(403);
        assertThat(r.message()).contains(DENIED + "container \"app\" image \"" + typo + "\"");
    }

    @Test
    void anEphemeralContainerIsChecked() {
        String pod = name("debug");
        assertThat(cp.create(Kind.POD.collection(NS), Workloads.pod(pod, image)).status()).isEqualTo(201);
        ObjectNode current = (ObjectNode) cp.get(Kind.POD.collection(NS) + "/" + pod).body();
        ((ObjectNode) current.path("spec")).withArray("ephemeralContainers").add(Workloads.container("debugger", typo));
        ControlPlane.Response r = cp.put(Kind.POD.collection(NS) + "/" + pod + "/ephemeralcontainers", current);
        assertThat(r.status()).as("%s", r).isEqualTo(403);
        assertThat(r.message()).contains(DENIED + "ephemeralContainer \"debugger\" image \"" + typo + "\"");
    }

    @Test
    void anUpdateThatKeepsTheImagesIsAdmittedAndOneThatChangesThemIsChecked() {
        ControlPlane.Response kept = cp.patch(Kind.POD.collection(NS) + "/" + legacyPod, labels("tier", "web"));
        assertThat(kept.status()).as("labelling a pod that predates the webhook: %s", kept).isEqualTo(200);

        String otherTypo = HOST + "/team/app@sha256:" + "ab".repeat(32);
        ObjectNode current = (ObjectNode) cp.get(Kind.POD.collection(NS) + "/" + legacyPod).body();
        ((ObjectNode) current.path("spec").path("containers").get(0)).put("image", otherTypo);
        ControlPlane.Response changed = cp.put(Kind.POD.collection(NS) + "/" + legacyPod, current);
        assertThat(changed.status()).as("%s", changed).isEqualTo(403);
        assertThat(changed.message()).contains(DENIED + "container \"app\" image \"" + otherTypo + "\"");
    }

    /** Last: it stops Berth. */
    @Test
    @Order(Integer.MAX_VALUE)
    void withBerthStoppedNewPodsAreRefusedWhileExemptNamespacesAndUnchangedUpdatesStillWork() {
        String before = name("before");
        assertThat(cp.create(Kind.POD.collection(NS), Workloads.pod(before, image)).status()).isEqualTo(201);
        berth.close();

        ControlPlane.Response refused = cp.create(Kind.POD.collection(NS), Workloads.pod(name("down"), image));
        assertThat(refused.status()).as("failurePolicy Fail: %s", refused).isEqualTo(500);
        assertThat(refused.message()).contains("failed calling webhook \"images.berth.io\"");
        ControlPlane.Response deployment = cp.create(Kind.DEPLOYMENT.collection(NS),
                Workloads.object(Kind.DEPLOYMENT, name("down"), Workloads.podSpec(image)));
        assertThat(deployment.status()).as("%s", deployment).isEqualTo(500);

        ControlPlane.Response exempt = cp.create(Kind.POD.collection("kube-system"), Workloads.pod(name("exempt"), typo));
        assertThat(exempt.status()).as("kube-system carries the test's label, and is exempt by name: %s", exempt).isEqualTo(201);

        ControlPlane.Response kept = cp.patch(Kind.POD.collection(NS) + "/" + before, labels("tier", "db"));
        assertThat(kept.status()).as("an UPDATE that keeps the images never waits for Berth: %s", kept).isEqualTo(200);
    }

    private static String name(String prefix) {
        return prefix + "-" + SEQ.incrementAndGet();
    }

    private static ObjectNode labels(String key, String value) {
        ObjectNode patch = Workloads.JSON.createObjectNode();
        patch.putObject("metadata").putObject("labels").put(key, value);
        return patch;
    }

    /** Sets (or with null removes) {@link #LABEL} on kube-system. */
    private static void labelKubeSystem(@Nullable String value) {
        ObjectNode patch = Workloads.JSON.createObjectNode();
        patch.putObject("metadata").putObject("labels").put(LABEL, value);
        ControlPlane.Response r = cp.patch("/api/v1/namespaces/kube-system", patch);
        assertThat(r.status()).as("%s", r).isEqualTo(200);
    }

    /** Pushes a one-layer image with crane over plain HTTP; returns its digest. */
    private static String push(String repositoryAndTag) throws IOException {
        Path dir = Files.createDirectories(work.resolve("layer-" + repositoryAndTag.replaceAll("[^a-z0-9]", "-")));
        Files.writeString(dir.resolve("content.txt"), "admission webhook " + repositoryAndTag);
        Path layer = work.resolve(dir.getFileName() + ".tar");
        Proc.run(List.of("tar", "-C", dir.toString(), "-cf", layer.toString(), "content.txt"), Map.of(), Duration.ofMinutes(1), null).requireSuccess();
        String ref = berth.hostAndPort() + "/" + repositoryAndTag;
        Map<String, String> env = Map.of("DOCKER_CONFIG", work.resolve("crane").toString());
        Proc.run(List.of(Tools.tool("CRANE"), "append", "--insecure", "-f", layer.toString(), "-t", ref), env, Duration.ofMinutes(2), null)
                .requireSuccess();
        return Proc.run(List.of(Tools.tool("CRANE"), "digest", "--insecure", ref), env, Duration.ofMinutes(1), null)
                .requireSuccess().output().strip();
    }

    private static void script(String name, String... args) {
        List<String> command = new ArrayList<>(List.of("bash", Tools.k8sDir().resolve("scripts").resolve(name).toString()));
        command.addAll(List.of(args));
        Map<String, String> env = new HashMap<>(cp.kubectlEnv());
        env.put("PATH", Path.of(Tools.tool("KUBECTL")).getParent() + ":" + System.getenv("PATH"));
        Proc.run(command, env, Duration.ofMinutes(2), null).requireSuccess();
    }
}
