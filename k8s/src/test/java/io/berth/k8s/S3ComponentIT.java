package io.berth.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.berth.conformance.Proc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code k8s/components/s3}: the registry as a Deployment of stateless replicas on one bucket, rendered by the real
 * {@code kubectl kustomize} (as {@link ManifestsIT} does for the other components), its OVHcloud Object Storage example,
 * and the rendering server-side applied (dry run) to the shared kube-apiserver, so that schema errors show.
 */
class S3ComponentIT {
    private static final Path K8S = Tools.k8sDir();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** The settings an overlay writes; every value distinct, so a value written to the wrong variable shows. */
    private static final Map<String, String> SETTINGS = Map.of(
            "REGISTRY_STORAGE_S3_REGIONENDPOINT", "https://s3.test-region-1.example.net",
            "REGISTRY_STORAGE_S3_REGION", "test-region-1",
            "REGISTRY_STORAGE_S3_BUCKET", "berth-test-bucket",
            "REGISTRY_STORAGE_S3_FORCEPATHSTYLE", "true",
            "REGISTRY_STORAGE_S3_ROOTDIRECTORY", "/berth-root");

    private static final String SETTINGS_GENERATOR = """
            configMapGenerator:
              - name: berth-s3-settings
                literals:
                  - regionendpoint=https://s3.test-region-1.example.net
                  - region=test-region-1
                  - bucket=berth-test-bucket
                  - forcepathstyle=true
                  - rootdirectory=/berth-root
                options:
                  disableNameSuffixHash: true
                  annotations:
                    config.kubernetes.io/local-config: "true"
            """;

    /** k8s/ with {@code components} (paths below k8s/components/) and the settings, through a throwaway overlay. */
    private static String overlay(String... components) {
        StringBuilder k = new StringBuilder("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../k8s\ncomponents:\n");
        for (String c : components) {
            k.append("  - ../k8s/components/").append(c).append('\n');
        }
        return k.append(SETTINGS_GENERATOR).toString();
    }

    private static String renderText(String... components) {
        return Manifests.renderOverlayText("overlay", overlay(components), "k8s", K8S);
    }

    private static Manifests s3() {
        return Manifests.parse(renderText("s3"));
    }

    /** k8s/examples/ovh-object-storage/ where it is meant to live: deploy/registry/, Berth checked out at berth/. */
    static Manifests ovhObjectStorageExample() {
        try {
            return Manifests.parse(Manifests.renderOverlayText("deploy/registry",
                    Files.readString(K8S.resolve("examples/ovh-object-storage/kustomization.yaml")), "berth", K8S.getParent()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void theRegistryIsADeploymentOfThreeReplicasWithNoVolume() {
        Manifests m = s3();
        assertThat(m.ofKind("StatefulSet")).isEmpty();
        assertThat(m.ofKind("PersistentVolumeClaim")).isEmpty();
        assertThat(m.all().stream().flatMap(o -> Manifests.findAll(o, "volumeClaimTemplates").stream()).toList()).isEmpty();
        assertThat(m.all().stream().flatMap(o -> Manifests.findAll(o, "persistentVolumeClaim").stream()).toList()).isEmpty();
        JsonNode spec = m.get("Deployment", "berth").path("spec");
        assertThat(spec.path("replicas").asInt()).isEqualTo(3);
        assertThat(spec.path("strategy").path("rollingUpdate").path("maxUnavailable").asInt()).as("a new replica first").isZero();
        assertThat(spec.has("serviceName") || spec.has("podManagementPolicy") || spec.has("updateStrategy")
                || spec.has("persistentVolumeClaimRetentionPolicy")).as("no StatefulSet field left: %s", spec).isFalse();
        for (JsonNode v : m.podSpec("Deployment", "berth").path("volumes")) {
            assertThat(v.has("secret") || v.has("configMap") || v.path("emptyDir").has("sizeLimit")).as("stateless: %s", v).isTrue();
        }
        List<String> mounts = new ArrayList<>();
        m.container("Deployment", "berth").path("volumeMounts").forEach(v -> mounts.add(v.path("mountPath").asText()));
        assertThat(mounts).doesNotContain("/var/lib/registry")
                .contains("/etc/docker/registry", "/etc/berth/tls", "/etc/berth/auth", "/etc/berth/admission", "/etc/berth/cosign", "/tmp");
    }

    /**
     * The pod is the base's, with the same probes, ports, Secrets, TLS, hardening and resources: only the anti-affinity,
     * the S3 environment and the volume's mount are the component's, and the config's hash suffix differs.
     */
    @Test
    void everythingElseInThePodIsTheBases() {
        Manifests m = s3();
        ObjectNode base = (ObjectNode) Manifests.render(K8S).get("StatefulSet", "berth").path("spec").path("template").deepCopy();
        ObjectNode s3 = (ObjectNode) m.get("Deployment", "berth").path("spec").path("template").deepCopy();
        ObjectNode baseContainer = (ObjectNode) base.path("spec").path("containers").get(0);
        removeWhere((ArrayNode) baseContainer.path("volumeMounts"), v -> v.path("mountPath").asText().equals("/var/lib/registry"));
        ((ObjectNode) s3.path("spec")).remove("affinity");
        removeWhere((ArrayNode) s3.path("spec").path("containers").get(0).path("env"),
                e -> e.path("name").asText().startsWith("REGISTRY_STORAGE_S3_"));
        for (ObjectNode t : List.of(base, s3)) {
            for (JsonNode v : t.path("spec").path("volumes")) {
                if (v.has("configMap")) {
                    ((ObjectNode) v.path("configMap")).put("name", "berth-config-<hash>");
                }
            }
        }
        assertThat(s3).isEqualTo(base);
    }

    @Test
    void theDisruptionBudgetSelectsTheReplicasAndLetsOneGoAtATime() {
        Manifests m = s3();
        JsonNode pdb = m.get("PodDisruptionBudget", "berth").path("spec");
        assertThat(selects(pdb.path("selector").path("matchLabels"), m)).isTrue();
        assertThat(pdb.path("maxUnavailable").asInt()).isEqualTo(1);
        assertThat(pdb.has("minAvailable")).as("both cannot be set").isFalse();
        assertThat(pdb.path("maxUnavailable").asInt()).isLessThan(m.get("Deployment", "berth").path("spec").path("replicas").asInt());
    }

    @Test
    void theReplicasPreferDifferentNodes() {
        Manifests m = s3();
        JsonNode antiAffinity = m.podSpec("Deployment", "berth").path("affinity").path("podAntiAffinity");
        assertThat(antiAffinity.has("requiredDuringSchedulingIgnoredDuringExecution"))
                .as("required would leave the autoscaler's and the rollout's extra replicas Pending on three nodes").isFalse();
        JsonNode byNode = null;
        for (JsonNode t : antiAffinity.path("preferredDuringSchedulingIgnoredDuringExecution")) {
            if (t.path("podAffinityTerm").path("topologyKey").asText().equals("kubernetes.io/hostname")) {
                byNode = t;
            }
        }
        assertThat(byNode).as("a term per node: %s", antiAffinity).isNotNull();
        assertThat(byNode.path("weight").asInt()).isEqualTo(100);
        assertThat(selects(byNode.path("podAffinityTerm").path("labelSelector").path("matchLabels"), m)).isTrue();
    }

    @Test
    void theAutoscalerScalesTheDeploymentOnCpuFromThree() {
        Manifests m = s3();
        JsonNode hpa = m.get("HorizontalPodAutoscaler", "berth");
        assertThat(hpa.path("apiVersion").asText()).isEqualTo("autoscaling/v2");
        assertThat(hpa.path("metadata").path("namespace").asText()).isEqualTo("berth-system");
        JsonNode spec = hpa.path("spec");
        JsonNode target = spec.path("scaleTargetRef");
        assertThat(target.path("apiVersion").asText() + " " + target.path("kind").asText() + " " + target.path("name").asText())
                .isEqualTo("apps/v1 Deployment berth");
        assertThat(m.get("Deployment", "berth").path("metadata").path("namespace").asText()).isEqualTo("berth-system");
        assertThat(spec.path("minReplicas").asInt()).isEqualTo(3);
        assertThat(spec.path("maxReplicas").asInt()).isGreaterThan(3);
        JsonNode metrics = spec.path("metrics");
        assertThat(metrics.size()).isEqualTo(1);
        assertThat(metrics.get(0).path("resource").path("name").asText()).isEqualTo("cpu");
        assertThat(metrics.get(0).path("resource").path("target").path("type").asText()).isEqualTo("Utilization");
        assertThat(m.container("Deployment", "berth").path("resources").path("requests").path("cpu").asText())
                .as("utilization is measured against the request").isNotEmpty();
    }

    @Test
    void theKeysComeFromSecretBerthS3AndTheBucketFromTheOverlaysSettings() {
        Manifests m = s3();
        for (String key : List.of("ACCESSKEY", "SECRETKEY")) {
            JsonNode env = envVar(m, "REGISTRY_STORAGE_S3_" + key);
            assertThat(env.has("value")).as("never a literal: %s", env).isFalse();
            JsonNode ref = env.path("valueFrom").path("secretKeyRef");
            assertThat(ref.path("name").asText() + "/" + ref.path("key").asText()).isEqualTo("berth-s3/" + key.toLowerCase(java.util.Locale.ROOT));
            assertThat(ref.path("optional").asBoolean(false)).as("no keys, no pod").isFalse();
        }
        Map<String, String> env = m.env("Deployment", "berth");
        SETTINGS.forEach((name, value) -> assertThat(env.get(name)).as(name).isEqualTo(value));
        assertThat(envVar(m, "REGISTRY_STORAGE_S3_FORCEPATHSTYLE").path("value").isTextual()).as("a string, as env values must be").isTrue();
        assertThat(m.find("ConfigMap", "berth-s3-settings")).as("local-config is never applied").isEmpty();
        assertThat(m.ofKind("Secret")).as("the keys are never rendered").isEmpty();
    }

    @Test
    void withoutTheSettingsTheBuildFailsNamingThem(@TempDir Path tmp) throws IOException {
        Files.createSymbolicLink(tmp.resolve("k8s"), K8S);
        Path dir = Files.createDirectories(tmp.resolve("overlay"));
        Files.writeString(dir.resolve("kustomization.yaml"), overlay("s3").substring(0, overlay("s3").indexOf("configMapGenerator:")));
        Proc.Result r = Proc.run(List.of(Tools.tool("KUBECTL"), "kustomize", dir.toString()), Map.of(), Duration.ofMinutes(1), null);
        assertThat(r.exitCode()).as("%s", r.output()).isNotZero();
        assertThat(r.output()).contains("berth-s3-settings");
    }

    /** config.yml: storage.s3 instead of storage.filesystem, and otherwise exactly the base's. */
    @Test
    void theConfigStoresInS3AndIsOtherwiseTheBases() throws IOException {
        JsonNode s3 = YAML.readTree(s3().berthConfigYml());
        JsonNode base = YAML.readTree(Manifests.render(K8S).berthConfigYml());
        JsonNode storage = s3.path("storage");
        assertThat(storage.has("s3")).isTrue();
        assertThat(storage.has("filesystem")).isFalse();
        assertThat(storage.path("redirect").path("disable").asBoolean()).as("pulls stream through Berth by default").isTrue();
        assertThat(storage.path("delete")).isEqualTo(base.path("storage").path("delete"));
        assertThat(storage.path("maintenance")).isEqualTo(base.path("storage").path("maintenance"));
        assertThat(storage.path("s3").has("accesskey") || storage.path("s3").has("secretkey")).as("keys only from the Secret").isFalse();
        ((ObjectNode) s3).remove("storage");
        ((ObjectNode) base).remove("storage");
        assertThat(s3).isEqualTo(base);
    }

    /**
     * The component's config.yml with the Deployment's environment, and the keys as Secret berth-s3 gives them, is a
     * configuration Berth loads as S3 storage on the overlay's bucket: the env names and the loader agree.
     */
    @Test
    void theRenderedConfigurationLoadsInBerthAsS3Storage(@TempDir Path tmp) throws IOException {
        Manifests m = s3();
        Path file = Files.writeString(tmp.resolve("config.yml"), m.berthConfigYml());
        Map<String, String> env = new java.util.HashMap<>(m.env("Deployment", "berth"));
        env.remove("BERTH_JAVA_OPTS");
        env.put("REGISTRY_STORAGE_S3_ACCESSKEY", "AKIDEXAMPLE");
        env.put("REGISTRY_STORAGE_S3_SECRETKEY", "0123456789"); // a numeric-looking key keeps its text
        io.berth.storage.s3.S3Settings s3 = io.berth.server.config.ConfigLoader.load(file, env).storage().s3();
        assertThat(s3).as("storage.s3 with the overlay's settings").isNotNull();
        assertThat(s3.bucket()).isEqualTo("berth-test-bucket");
        assertThat(s3.region()).isEqualTo("test-region-1");
        assertThat(s3.endpoint()).hasToString("https://s3.test-region-1.example.net");
        assertThat(s3.forcePathStyle()).isTrue();
        assertThat(s3.rootDirectory()).isEqualTo("berth-root");
        assertThat(s3.accessKey()).isEqualTo("AKIDEXAMPLE");
        assertThat(s3.secretKey()).isEqualTo("0123456789");
        assertThat(s3.redirect()).as("pulls stream through Berth").isFalse();
    }

    @Test
    void theReplicasMayReachDnsAndTheBucketOverHttps() {
        Manifests m = s3();
        JsonNode np = m.get("NetworkPolicy", "berth-s3-egress").path("spec");
        assertThat(selects(np.path("podSelector").path("matchLabels"), m)).isTrue();
        assertThat(np.path("policyTypes").toString()).isEqualTo("[\"Egress\"]");
        assertThat(Manifests.findAll(np.path("egress"), "port").stream().map(JsonNode::asInt).toList()).containsExactlyInAnyOrder(53, 53, 443);
        assertThat(m.get("NetworkPolicy", "berth")).as("the base's ingress rules stay").isEqualTo(Manifests.render(K8S).get("NetworkPolicy", "berth"));
    }

    /** The component's place in the list does not matter: the others still patch the registry's pod. */
    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"s3,monitoring,registry-host", "monitoring,registry-host,s3", "registry-host,s3,monitoring"})
    void theOtherComponentsStillReachThePodWhereverS3IsListed(String components) {
        Manifests m = Manifests.parse(Manifests.renderOverlayText("overlay", overlay(components.split(",")) + """
                  - name: berth-settings
                    behavior: replace
                    literals:
                      - host=registry.other.example
                    options:
                      disableNameSuffixHash: true
                      annotations:
                        config.kubernetes.io/local-config: "true"
                """, "k8s", K8S));
        assertThat(m.ofKind("StatefulSet")).isEmpty();
        assertThat(m.get("Deployment", "berth").path("spec").path("template").path("metadata").path("annotations")
                .path("prometheus.io/scrape").asText()).as("components/monitoring's annotations").isEqualTo("true");
        assertThat(m.env("Deployment", "berth").get("REGISTRY_AUTH_TOKEN_SERVICE")).isEqualTo("registry.other.example");
    }

    @Test
    void theOvhObjectStorageExampleUsesTheRegionsEndpointAndNoVolume() {
        Manifests m = ovhObjectStorageExample();
        Map<String, String> env = m.env("Deployment", "berth");
        String region = env.get("REGISTRY_STORAGE_S3_REGION");
        assertThat(region).isEqualTo("gra");
        assertThat(env.get("REGISTRY_STORAGE_S3_REGIONENDPOINT")).isEqualTo("https://s3." + region + ".io.cloud.ovh.net");
        assertThat(env.get("REGISTRY_STORAGE_S3_BUCKET")).isNotEmpty();
        assertThat(m.ofKind("StatefulSet")).isEmpty();
        assertThat(m.text()).doesNotContain("csi-cinder").doesNotContain(Workloads.HOST).contains("registry.example.org");
        assertThat(env.get("REGISTRY_AUTH_TOKEN_REALM")).isEqualTo("https://registry.example.org/auth/token");
        assertThat(m.container("Deployment", "berth").path("image").asText()).isEqualTo("ghcr.io/example/berth@sha256:" + "0".repeat(64));
        assertThat(m.find("ConfigMap", "berth-s3-settings")).isEmpty();
    }

    /**
     * The rendering server-side applied, as a dry run, over the default deployment the shared API server holds (with
     * the same field manager, as an operator moving to S3 would): every object passes the API server's schema and
     * validation (the budget's minAvailable goes away with the manager's StatefulSet-era value), with no warning, and
     * the pod passes Pod Security restricted.
     */
    @Test
    void theRenderingAppliesServerSideOverTheDefaultDeployment() {
        ControlPlane cp = SharedCluster.withBerthApplied();
        Proc.Result r = cp.kubectl(renderText("s3"), "apply", "--server-side", "--dry-run=server", "--field-manager=berth-test", "-f", "-");
        assertThat(r.exitCode()).as("%s", r.output()).isZero();
        assertThat(r.output()).contains("deployment.apps/berth serverside-applied (server dry run)",
                "horizontalpodautoscaler.autoscaling/berth serverside-applied (server dry run)",
                "poddisruptionbudget.policy/berth serverside-applied (server dry run)",
                "networkpolicy.networking.k8s.io/berth-s3-egress serverside-applied (server dry run)",
                "service/berth serverside-applied (server dry run)",
                "ingress.networking.k8s.io/berth serverside-applied (server dry run)",
                "service/berth-admission serverside-applied (server dry run)");
        assertThat(r.output()).as("no Pod Security or deprecation warnings").doesNotContainIgnoringCase("warning");

        ObjectNode pod = Workloads.JSON.createObjectNode().put("apiVersion", "v1").put("kind", "Pod");
        pod.putObject("metadata").put("name", "berth-s3-psa-check");
        pod.set("spec", s3().podSpec("Deployment", "berth").deepCopy());
        ControlPlane.Response created = cp.create("/api/v1/namespaces/berth-system/pods?dryRun=All", pod);
        assertThat(created.status()).as("%s", created).isEqualTo(201);
        assertThat(created.warnings()).isEmpty();
    }

    /**
     * What the README says of re-applying once the autoscaler has scaled: it owns spec.replicas then, so a server-side
     * apply of the manifest's 3 reports a conflict, and {@code --force-conflicts} sets 3 again. The Deployment and the
     * autoscaler are applied for real, in a namespace of their own (with an image the policy admits); the scale
     * subresource is written by another field manager, as the autoscaler's controller writes it.
     */
    @Test
    void reapplyingAfterTheAutoscalerScaledConflictsOnReplicasUntilForced() throws IOException {
        ControlPlane cp = SharedCluster.withBerthApplied();
        String ns = "berth-s3-autoscaled";
        Policy.namespace(cp, ns);
        try {
            Manifests m = s3();
            StringBuilder yaml = new StringBuilder();
            for (JsonNode o : List.of(m.get("Deployment", "berth"), m.get("HorizontalPodAutoscaler", "berth"))) {
                ObjectNode copy = o.deepCopy();
                ((ObjectNode) copy.path("metadata")).put("namespace", ns);
                yaml.append("---\n").append(YAML.writeValueAsString(copy));
            }
            String manifest = yaml.toString().replace(m.container("Deployment", "berth").path("image").asText(), Workloads.good("berth/berth"));
            String[] apply = {"apply", "--server-side", "--field-manager=berth-test", "-f", "-"};
            cp.kubectl(manifest, apply).requireSuccess();
            cp.kubectl(null, "-n", ns, "scale", "deployment/berth", "--replicas=5").requireSuccess();

            Proc.Result again = cp.kubectl(manifest, apply);
            assertThat(again.exitCode()).as("%s", again.output()).isNotZero();
            assertThat(again.output()).contains("conflict").contains(".spec.replicas");
            String[] forced = {"apply", "--server-side", "--force-conflicts", "--field-manager=berth-test", "-f", "-"};
            cp.kubectl(manifest, forced).requireSuccess();
            assertThat(cp.get("/apis/apps/v1/namespaces/" + ns + "/deployments/berth").body().path("spec").path("replicas").asInt()).isEqualTo(3);
        } finally {
            cp.delete("/api/v1/namespaces/" + ns);
        }
    }

    /** Whether {@code selector} (matchLabels) selects the pods of Deployment berth. */
    private static boolean selects(JsonNode selector, Manifests m) {
        JsonNode labels = m.get("Deployment", "berth").path("spec").path("template").path("metadata").path("labels");
        boolean all = !selector.isEmpty();
        for (var e : selector.properties()) {
            all &= labels.path(e.getKey()).asText().equals(e.getValue().asText());
        }
        return all;
    }

    private static JsonNode envVar(Manifests m, String name) {
        for (JsonNode e : m.container("Deployment", "berth").path("env")) {
            if (e.path("name").asText().equals(name)) {
                return e;
            }
        }
        throw new AssertionError("no " + name + " in Deployment berth");
    }

    private static void removeWhere(ArrayNode array, java.util.function.Predicate<JsonNode> p) {
        for (int i = array.size() - 1; i >= 0; i--) {
            if (p.test(array.get(i))) {
                array.remove(i);
            }
        }
    }
}
