package io.berth.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.server.config.ConfigLoader;
import io.berth.server.config.RegistryConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What {@code kubectl kustomize} makes of k8s/, of each component and of the example overlay: the objects the
 * issue asks for, hardened as it asks, and nothing that exposes a node (no NodePort anywhere).
 */
class ManifestsIT {
    private static final Path K8S = Tools.k8sDir();

    private static Manifests base() {
        return Manifests.render(K8S);
    }

    /** Renders k8s/ with {@code components} through a throwaway overlay. */
    static Manifests withComponents(String... components) {
        StringBuilder k = new StringBuilder("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../k8s\n");
        k.append("components:\n");
        for (String c : components) {
            k.append("  - ../k8s/components/").append(c).append('\n');
        }
        return Manifests.parse(Manifests.renderOverlayText("overlay", k.toString(), "k8s", K8S));
    }

    /** The example overlay where it is meant to live: deploy/registry/ of a repository with Berth checked out at berth/. */
    static Manifests exampleOverlay() {
        try {
            return Manifests.parse(Manifests.renderOverlayText("deploy/registry",
                    Files.readString(K8S.resolve("examples/overlay/kustomization.yaml")), "berth", K8S.getParent()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The standalone webhook after the move, without Berth: k8s/examples/standalone/ at deploy/admission/. */
    static Manifests exampleStandalone() {
        try {
            return Manifests.parse(Manifests.renderOverlayText("deploy/admission",
                    Files.readString(K8S.resolve("examples/standalone/kustomization.yaml")), "berth", K8S.getParent()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static Stream<String> variants() {
        return Stream.of("", "cert-manager", "cert-manager,cert-manager-acme", "ovh", "ingress-traefik", "ingress-nginx",
                "gateway-api", "admission-warn", "cert-manager,cert-manager-acme,ovh,ingress-traefik,registry-host", "example-overlay",
                "admission-standalone", "cert-manager,admission-standalone,registry-host", "example-standalone", "monitoring",
                "example-ovh-object-storage");
    }

    static Manifests variant(String v) {
        if (v.isEmpty()) {
            return base();
        }
        if (v.equals("example-overlay")) {
            return exampleOverlay();
        }
        if (v.equals("example-standalone")) {
            return exampleStandalone();
        }
        if (v.equals("example-ovh-object-storage")) {
            return S3ComponentIT.ovhObjectStorageExample();
        }
        return withComponents(v.split(","));
    }

    @Test
    void theDefaultDeploymentHasTheRegistryThePolicyAndTheWebhook() {
        assertThat(base().ids()).containsExactlyInAnyOrder(
                "Namespace//berth-system",
                "ServiceAccount/berth-system/berth",
                "ConfigMap/berth-system/berth-admission-params",
                "ConfigMap/berth-system/" + base().ofKind("ConfigMap").stream()
                        .map(c -> c.path("metadata").path("name").asText()).filter(n -> n.startsWith("berth-config-")).findFirst().orElse("berth-config-?"),
                "Service/berth-system/berth",
                "StatefulSet/berth-system/berth",
                "PodDisruptionBudget/berth-system/berth",
                "NetworkPolicy/berth-system/berth",
                "Ingress/berth-system/berth",
                "ValidatingAdmissionPolicy//berth-images-by-digest",
                "ValidatingAdmissionPolicyBinding//berth-images-by-digest",
                "Service/berth-system/berth-admission",
                "NetworkPolicy/berth-system/berth-admission",
                "ValidatingWebhookConfiguration//berth-images");
    }

    @ParameterizedTest(name = "[{0}]")
    @MethodSource("variants")
    void noNodePortOrHostNetworkingAnywhere(String variant) {
        Manifests m = variant(variant);
        for (JsonNode o : m.all()) {
            assertThat(o.path("spec").path("type").asText()).as("%s", o.path("metadata")).isNotIn("NodePort", "LoadBalancer");
        }
        for (String field : List.of("nodePort", "hostPort", "hostNetwork", "hostPID", "hostIPC", "hostPath", "externalIPs")) {
            assertThat(m.all().stream().flatMap(o -> Manifests.findAll(o, field).stream()).toList())
                    .as("%s in %s", field, variant).isEmpty();
        }
        assertThat(m.text()).doesNotContainIgnoringCase("nodeport");
    }

    @Test
    void theStatefulSetIsOneHardenedReplicaOnItsOwnVolume() {
        JsonNode sts = base().get("StatefulSet", "berth");
        JsonNode spec = sts.path("spec");
        assertThat(spec.path("replicas").asInt()).isEqualTo(1);
        assertThat(spec.path("updateStrategy").path("type").asText()).isEqualTo("RollingUpdate");
        assertThat(spec.path("persistentVolumeClaimRetentionPolicy").path("whenDeleted").asText()).isEqualTo("Retain");
        JsonNode claim = spec.path("volumeClaimTemplates").get(0);
        assertThat(claim.path("metadata").path("name").asText()).isEqualTo("data");
        assertThat(claim.path("spec").path("accessModes").toString()).isEqualTo("[\"ReadWriteOnce\"]");

        JsonNode pod = spec.path("template").path("spec");
        assertThat(pod.path("serviceAccountName").asText()).isEqualTo("berth");
        JsonNode c = pod.path("containers").get(0);
        assertThat(c.path("args").toString()).isEqualTo("[\"serve\",\"/etc/docker/registry/config.yml\"]");
        assertHardened(pod);
        assertThat(c.path("readinessProbe").path("httpGet").path("path").asText()).isEqualTo("/debug/health");
        assertThat(c.path("livenessProbe").path("httpGet").path("scheme").asText()).isEqualTo("HTTPS");

        List<String> mounts = new ArrayList<>();
        c.path("volumeMounts").forEach(v -> mounts.add(v.path("mountPath").asText()));
        assertThat(mounts).contains("/var/lib/registry", "/etc/docker/registry", "/etc/berth/tls", "/etc/berth/auth", "/etc/berth/admission", "/etc/berth/cosign", "/tmp");
    }

    /** What Berth's StatefulSet and the standalone webhook's Deployment share: non-root, read-only, no token, probed, sized. */
    private static void assertHardened(JsonNode pod) {
        assertThat(pod.path("automountServiceAccountToken").asBoolean(true)).isFalse();
        JsonNode psc = pod.path("securityContext");
        assertThat(psc.path("runAsNonRoot").asBoolean()).isTrue();
        assertThat(psc.path("runAsUser").asInt()).isNotZero();
        assertThat(psc.path("seccompProfile").path("type").asText()).isEqualTo("RuntimeDefault");
        assertThat(pod.path("containers").size()).isEqualTo(1);
        JsonNode c = pod.path("containers").get(0);
        JsonNode sc = c.path("securityContext");
        assertThat(sc.path("runAsNonRoot").asBoolean()).isTrue();
        assertThat(sc.path("readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(sc.path("allowPrivilegeEscalation").asBoolean(true)).isFalse();
        assertThat(sc.path("capabilities").path("drop").toString()).isEqualTo("[\"ALL\"]");
        assertThat(sc.path("capabilities").has("add")).isFalse();
        assertThat(sc.path("seccompProfile").path("type").asText()).isEqualTo("RuntimeDefault");
        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            assertThat(c.path(probe).path("httpGet").path("path").asText()).as(probe).isNotEmpty();
        }
        assertThat(c.path("resources").path("requests").path("cpu").asText()).isNotEmpty();
        assertThat(c.path("resources").path("requests").path("memory").asText()).isNotEmpty();
        assertThat(c.path("resources").path("limits").path("memory").asText()).isNotEmpty();
        c.path("volumeMounts").forEach(v -> {
            assertThat(v.has("subPath")).as("subPath mounts miss rotated secrets: %s", v).isFalse();
            assertThat(v.path("readOnly").asBoolean() || v.path("mountPath").asText().equals("/tmp")
                    || v.path("mountPath").asText().equals("/var/lib/registry")).as("writable: %s", v).isTrue();
        });
    }

    @Test
    void theServiceAccountMountsNoToken() {
        assertThat(base().get("ServiceAccount", "berth").path("automountServiceAccountToken").asBoolean(true)).isFalse();
    }

    @Test
    void theServiceIsClusterIpOnTheTlsPort() {
        JsonNode svc = base().get("Service", "berth");
        assertThat(svc.path("spec").path("type").asText()).isEqualTo("ClusterIP");
        JsonNode https = svc.path("spec").path("ports").get(0);
        assertThat(https.path("name").asText()).isEqualTo("https");
        assertThat(https.path("port").asInt()).isEqualTo(443);
        assertThat(https.path("appProtocol").asText()).isEqualTo("https");
    }

    @Test
    void theIngressTerminatesTlsForTheHostAndReEncryptsToBerth() {
        JsonNode ing = base().get("Ingress", "berth");
        JsonNode spec = ing.path("spec");
        assertThat(spec.path("tls").get(0).path("hosts").get(0).asText()).isEqualTo(Workloads.HOST);
        assertThat(spec.path("tls").get(0).path("secretName").asText()).isEqualTo("berth-tls");
        assertThat(spec.path("rules").get(0).path("host").asText()).isEqualTo(Workloads.HOST);
        assertThat(spec.path("rules").get(0).path("http").path("paths").get(0).path("backend").path("service").path("port").path("name").asText())
                .isEqualTo("https");
        JsonNode a = ing.path("metadata").path("annotations");
        assertThat(a.path("haproxy.org/server-ssl").asText()).isEqualTo("true");
        assertThat(a.path("haproxy.org/server-ca").asText()).isEqualTo("berth-system/berth-ca");
        assertThat(a.path("haproxy.org/timeout-server").asText()).isNotEmpty();
        assertThat(a.path("haproxy.org/send-proxy-protocol").asText()).as("Berth learns the client's address").isEqualTo("proxy-v2");
    }

    @Test
    void ingressNginxVariantAllowsLargeUnbufferedUploadsOverHttps() {
        JsonNode ing = withComponents("ingress-nginx").get("Ingress", "berth");
        JsonNode a = ing.path("metadata").path("annotations");
        assertThat(ing.path("spec").path("ingressClassName").asText()).isEqualTo("nginx");
        assertThat(a.path("nginx.ingress.kubernetes.io/proxy-body-size").asText()).isEqualTo("0");
        assertThat(a.path("nginx.ingress.kubernetes.io/proxy-request-buffering").asText()).isEqualTo("off");
        assertThat(a.path("nginx.ingress.kubernetes.io/backend-protocol").asText()).isEqualTo("HTTPS");
        assertThat(a.path("nginx.ingress.kubernetes.io/proxy-read-timeout").asInt()).isGreaterThanOrEqualTo(600);
        assertThat(a.has("haproxy.org/server-ssl")).isFalse();
    }

    @Test
    void traefikVariantVerifiesBerthWithTheCa() {
        Manifests m = withComponents("ingress-traefik");
        assertThat(m.get("Ingress", "berth").path("spec").path("ingressClassName").asText()).isEqualTo("traefik");
        assertThat(m.get("Service", "berth").path("metadata").path("annotations").path("traefik.ingress.kubernetes.io/service.serversscheme").asText())
                .isEqualTo("https");
        assertThat(m.get("ServersTransport", "berth").path("spec").path("rootCAs").get(0).path("secret").asText()).isEqualTo("berth-ca");
        assertThat(networkPolicyIngressNamespace(m)).isEqualTo("traefik");
    }

    @Test
    void gatewayApiVariantReplacesTheIngress() {
        Manifests m = withComponents("gateway-api");
        assertThat(m.find("Ingress", "berth")).isEmpty();
        assertThat(m.get("HTTPRoute", "berth").path("spec").path("hostnames").get(0).asText()).isEqualTo(Workloads.HOST);
        assertThat(m.get("BackendTLSPolicy", "berth").path("spec").path("targetRefs").get(0).path("name").asText()).isEqualTo("berth");
        assertThat(m.get("Gateway", "berth").path("spec").path("listeners").get(0).path("protocol").asText()).isEqualTo("HTTPS");
    }

    @Test
    void certManagerVariantIssuesBerthsCertificateFromAPrivateCa() {
        Manifests m = withComponents("cert-manager");
        JsonNode cert = m.get("Certificate", "berth-tls");
        assertThat(cert.path("spec").path("secretName").asText()).isEqualTo("berth-tls");
        assertThat(cert.path("spec").path("dnsNames").toString()).contains(Workloads.HOST, "berth.berth-system.svc");
        assertThat(cert.path("spec").path("issuerRef").path("name").asText()).isEqualTo("berth-ca");
        assertThat(m.get("Certificate", "berth-ca").path("spec").path("isCA").asBoolean()).isTrue();
        assertThat(m.get("Issuer", "berth-ca").path("spec").path("ca").path("secretName").asText()).isEqualTo("berth-ca");
    }

    @Test
    void certManagerVariantIssuesTheWebhooksCertificateAndInjectsItsCa() {
        Manifests m = withComponents("cert-manager");
        JsonNode cert = m.get("Certificate", "berth-admission-tls");
        JsonNode service = webhook(m).path("clientConfig").path("service");
        assertThat(cert.path("spec").path("secretName").asText()).as("the Secret the StatefulSet mounts").isEqualTo(m.secretAt("StatefulSet", "berth", "/etc/berth/admission"));
        assertThat(cert.path("spec").path("dnsNames").toString()).as("the name the API server verifies")
                .isEqualTo("[\"" + service.path("name").asText() + "." + service.path("namespace").asText() + ".svc\"]");
        assertThat(cert.path("spec").path("usages").toString()).contains("server auth");
        assertThat(cert.path("spec").path("issuerRef").path("name").asText()).isEqualTo("berth-ca");
        assertThat(m.get("ValidatingWebhookConfiguration", "berth-images").path("metadata").path("annotations")
                .path("cert-manager.io/inject-ca-from").asText()).isEqualTo("berth-system/berth-admission-tls");
        assertThat(base().get("ValidatingWebhookConfiguration", "berth-images").path("metadata").path("annotations").isMissingNode())
                .as("without cert-manager, webhook-ca-bundle.sh fills the caBundle").isTrue();
    }

    @Test
    void ovhVariantUsesCinderHighSpeed() {
        JsonNode claim = withComponents("ovh").get("StatefulSet", "berth").path("spec").path("volumeClaimTemplates").get(0);
        assertThat(claim.path("spec").path("storageClassName").asText()).isEqualTo("csi-cinder-high-speed");
    }

    @Test
    void warnVariantOnlyWarnsAndAudits() {
        JsonNode binding = withComponents("admission-warn").get("ValidatingAdmissionPolicyBinding", Policy.NAME);
        assertThat(binding.path("spec").path("validationActions").toString()).isEqualTo("[\"Warn\",\"Audit\"]");
    }

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"admission-warn", "admission-warn,cert-manager", "cert-manager,admission-warn", "admission-standalone,admission-warn"})
    void warnVariantLeavesTheWebhookOut(String components) {
        Manifests m = withComponents(components.split(","));
        assertThat(m.ofKind("ValidatingWebhookConfiguration")).as("the webhook cannot only warn").isEmpty();
        assertThat(m.find("ValidatingAdmissionPolicy", Policy.NAME)).isPresent();
    }

    @Test
    void theNetworkPolicyAllowsNoEgressAndOnlyTheIngressController() {
        JsonNode np = base().get("NetworkPolicy", "berth");
        assertThat(np.path("spec").path("policyTypes").toString()).contains("Ingress", "Egress");
        assertThat(np.path("spec").path("egress").isEmpty()).isTrue();
        assertThat(networkPolicyIngressNamespace(base())).isEqualTo("haproxy-controller");
    }

    @Test
    void theDisruptionBudgetCoversThePod() {
        JsonNode pdb = base().get("PodDisruptionBudget", "berth");
        JsonNode labels = base().get("StatefulSet", "berth").path("spec").path("template").path("metadata").path("labels");
        pdb.path("spec").path("selector").path("matchLabels").properties()
                .forEach(e -> assertThat(labels.path(e.getKey()).asText()).isEqualTo(e.getValue().asText()));
    }

    @Test
    void theBindingDeniesAndExemptsOnlyByTheImmutableNameLabel() {
        JsonNode binding = base().get("ValidatingAdmissionPolicyBinding", Policy.NAME);
        assertThat(binding.path("spec").path("validationActions").toString()).isEqualTo("[\"Deny\"]");
        assertThat(binding.path("spec").path("paramRef").path("parameterNotFoundAction").asText()).isEqualTo("Deny");
        JsonNode selector = binding.path("spec").path("matchResources").path("namespaceSelector");
        assertThat(selector.path("matchLabels").isEmpty()).isTrue();
        JsonNode expr = selector.path("matchExpressions").get(0);
        assertThat(expr.path("key").asText()).isEqualTo("kubernetes.io/metadata.name");
        assertThat(expr.path("operator").asText()).isEqualTo("NotIn");
        assertThat(expr.path("values").toString()).isEqualTo("[\"kube-system\",\"berth-system\"]");
        JsonNode policy = base().get("ValidatingAdmissionPolicy", Policy.NAME);
        assertThat(policy.path("spec").path("failurePolicy").asText()).isEqualTo("Fail");
    }

    @Test
    void theExampleOverlaySetsItsHostEverywhere() {
        Manifests m = exampleOverlay();
        assertThat(m.text()).doesNotContain(Workloads.HOST).contains("registry.example.org");
        assertThat(m.get("ConfigMap", "berth-admission-params").path("data").path("allowedHosts").asText()).isEqualTo("registry.example.org");
        assertThat(m.get("Ingress", "berth").path("spec").path("tls").get(0).path("secretName").asText()).isEqualTo("berth-ingress-tls");
        assertThat(m.get("Certificate", "berth-ingress-tls").path("spec").path("dnsNames").get(0).asText()).isEqualTo("registry.example.org");
        assertThat(m.berthEnv().get("REGISTRY_AUTH_TOKEN_REALM")).isEqualTo("https://registry.example.org/auth/token");
        assertThat(m.berthEnv().get("REGISTRY_BERTH_ADMISSION_HOSTS")).isEqualTo("registry.example.org");
        assertThat(m.get("StatefulSet", "berth").path("spec").path("template").path("spec").path("containers").get(0).path("image").asText())
                .isEqualTo("ghcr.io/example/berth@sha256:" + "0".repeat(64));
        assertThat(m.find("ConfigMap", "berth-settings")).as("local-config is never applied").isEmpty();
    }

    /** The ConfigMap's config.yml with the StatefulSet's environment is a configuration Berth accepts. */
    @Test
    void theRenderedConfigurationLoadsInBerth(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        Manifests m = base();
        Path file = Files.writeString(tmp.resolve("config.yml"), m.berthConfigYml());
        Map<String, String> env = new HashMap<>(m.berthEnv());
        env.remove("BERTH_JAVA_OPTS");
        RegistryConfig config = ConfigLoader.load(file, env);
        var security = config.security();
        assertThat(security.token()).isNotNull();
        assertThat(security.token().realm()).isEqualTo("https://" + Workloads.HOST + "/auth/token");
        assertThat(security.token().service()).isEqualTo(Workloads.HOST);
        assertThat(security.issuer()).isNotNull();
        assertThat(security.issuer().htpasswd()).isEqualTo(Path.of("/etc/berth/auth/htpasswd"));
        assertThat(security.access()).hasSize(3);
        assertThat(security.immutableTags()).hasSize(1);
        assertThat(security.denyTags()).containsExactly("latest");
        assertThat(config.storage().rootDirectory()).isEqualTo(Path.of("/var/lib/registry"));
        assertThat(config.http().debugAddr()).isNotNull();
        assertThat(config.limits().trustedProxies()).as("the ingress controller's forwarding is believed").isNotEmpty();
        var admission = config.trust().admission();
        assertThat(admission).as("berth.admission").isNotNull();
        assertThat(admission.addr().getPort()).isEqualTo(m.containerPort("StatefulSet", "berth", "admission"));
        assertThat(admission.tls().certificate()).isEqualTo(Path.of("/etc/berth/admission/tls.crt"));
        assertThat(admission.tls().key()).isEqualTo(Path.of("/etc/berth/admission/tls.key"));
        assertThat(admission.hosts()).containsExactly(Workloads.HOST);
        assertSignedByTheKeyOfSecretBerthCosign(config, m, "StatefulSet", "berth");
        // Berth's unused-key warnings compare case-sensitively and so name camelCase keys it does read
        // (berth.tokenIssuer.*, berth.immutableTags, berth.denyTags): only keys outside berth: must be clean.
        assertThat(config.warnings()).isEmpty();
    }

    @Test
    void theWebhookCallsBerthsAdmissionServiceAndFailsClosed() {
        JsonNode w = webhook(base());
        JsonNode client = w.path("clientConfig");
        assertThat(client.has("url")).isFalse();
        assertThat(client.has("caBundle")).as("left to webhook-ca-bundle.sh or cert-manager, so re-applying keeps it").isFalse();
        assertThat(client.path("service").path("namespace").asText()).isEqualTo("berth-system");
        assertThat(client.path("service").path("name").asText()).isEqualTo("berth-admission");
        assertThat(client.path("service").path("path").asText()).isEqualTo("/validate");
        assertThat(client.path("service").path("port").asInt()).isEqualTo(443);
        assertThat(w.path("failurePolicy").asText()).isEqualTo("Fail");
        assertThat(w.path("timeoutSeconds").asInt()).isBetween(1, 10);
        assertThat(w.path("sideEffects").asText()).isEqualTo("None");
        assertThat(w.path("admissionReviewVersions").toString()).isEqualTo("[\"v1\"]");
        assertThat(w.path("objectSelector").isMissingNode()).as("pods cannot label themselves out").isTrue();
        assertThat(w.path("matchConditions").size()).isEqualTo(1);
        assertThat(w.path("matchConditions").get(0).path("expression").asText()).startsWith("request.operation != 'UPDATE' ||");
    }

    @Test
    void theWebhookExemptsExactlyThePolicysNamespaces() {
        JsonNode selector = webhook(base()).path("namespaceSelector");
        JsonNode binding = base().get("ValidatingAdmissionPolicyBinding", Policy.NAME).path("spec").path("matchResources").path("namespaceSelector");
        assertThat(selector).isEqualTo(binding);
        assertThat(selector.path("matchExpressions").get(0).path("values").toString()).contains("\"berth-system\"", "\"kube-system\"");
    }

    @Test
    void theWebhookMatchesWhatThePolicyMatches() {
        JsonNode policy = base().get("ValidatingAdmissionPolicy", Policy.NAME).path("spec").path("matchConstraints");
        JsonNode w = webhook(base());
        assertThat(w.path("matchPolicy").asText()).isEqualTo(policy.path("matchPolicy").asText());
        assertThat(rules(w.path("rules"))).isEqualTo(rules(policy.path("resourceRules")))
                .contains("/v1/CREATE/pods", "/v1/UPDATE/pods/ephemeralcontainers", "apps/v1/CREATE/deployments", "batch/v1/UPDATE/cronjobs");
    }

    @Test
    void theWebhookServiceReachesBerthsAdmissionPort() {
        Manifests m = base();
        JsonNode svc = m.get("Service", "berth-admission");
        assertThat(svc.path("spec").path("type").asText()).isEqualTo("ClusterIP");
        JsonNode port = svc.path("spec").path("ports").get(0);
        assertThat(port.path("port").asInt()).isEqualTo(webhook(m).path("clientConfig").path("service").path("port").asInt());
        assertThat(port.path("targetPort").asText()).isEqualTo("admission");
        assertThat(m.containerPort("StatefulSet", "berth", "admission")).isEqualTo(8443);
        JsonNode labels = m.get("StatefulSet", "berth").path("spec").path("template").path("metadata").path("labels");
        svc.path("spec").path("selector").properties()
                .forEach(e -> assertThat(labels.path(e.getKey()).asText()).isEqualTo(e.getValue().asText()));
        assertThat(m.secretAt("StatefulSet", "berth", "/etc/berth/admission")).isEqualTo("berth-admission-tls");
        assertThat(m.mountAt("StatefulSet", "berth", "/etc/berth/admission").path("readOnly").asBoolean()).isTrue();
    }

    @ParameterizedTest(name = "[{0}]")
    @MethodSource("variants")
    void whereverTheWebhookIsItsServiceIsToo(String variant) {
        Manifests m = variant(variant);
        for (JsonNode config : m.ofKind("ValidatingWebhookConfiguration")) {
            for (JsonNode w : config.path("webhooks")) {
                JsonNode service = w.path("clientConfig").path("service");
                assertThat(m.find("Service", service.path("name").asText())).as("%s in %s", service, variant).isPresent();
                assertThat(m.get("Service", service.path("name").asText()).path("metadata").path("namespace").asText())
                        .isEqualTo(service.path("namespace").asText());
            }
        }
    }

    @Test
    void onlyTheApiServersNamespaceMayReachTheAdmissionPort() {
        Manifests m = base();
        JsonNode np = m.get("NetworkPolicy", "berth-admission");
        assertThat(np.path("spec").path("podSelector")).isEqualTo(m.get("NetworkPolicy", "berth").path("spec").path("podSelector"));
        assertThat(np.path("spec").path("policyTypes").toString()).isEqualTo("[\"Ingress\"]");
        JsonNode ingress = np.path("spec").path("ingress");
        assertThat(ingress.size()).isEqualTo(1);
        assertThat(ingress.get(0).path("ports").toString()).isEqualTo("[{\"port\":8443,\"protocol\":\"TCP\"}]");
        assertThat(ingress.get(0).path("from").toString())
                .isEqualTo("[{\"namespaceSelector\":{\"matchLabels\":{\"kubernetes.io/metadata.name\":\"kube-system\"}}}]");
        assertThat(m.get("NetworkPolicy", "berth").path("spec").path("ingress").toString()).as("the registry's policy does not open 8443")
                .doesNotContain("8443");
    }

    /**
     * Signed images only: one trust rule for every repository, its key the file cosign.pub of Secret berth-cosign, mounted
     * as a directory (a Secret update reaches the pod, and Berth reloads the key) and required (no key, no pod).
     */
    private static void assertSignedByTheKeyOfSecretBerthCosign(RegistryConfig config, Manifests m, String kind, String name) {
        assertThat(config.trust().rules()).hasSize(1);
        RegistryConfig.TrustRule rule = config.trust().rules().get(0);
        assertThat(rule.repositories()).containsExactly("**");
        assertThat(rule.attestations()).isEmpty();
        assertThat(rule.keys()).hasSize(1);
        Path key = rule.keys().get(0);
        assertThat(key.getFileName()).hasToString("cosign.pub");
        assertThat(m.secretAt(kind, name, key.getParent().toString())).isEqualTo("berth-cosign");
        assertThat(m.mountAt(kind, name, key.getParent().toString()).path("readOnly").asBoolean()).isTrue();
        assertThat(m.volumeAt(kind, name, key.getParent().toString()).path("secret").path("optional").asBoolean(false))
                .as("without the key the pod waits: nothing is admitted unsigned").isFalse();
    }

    private static Manifests standalone() {
        return withComponents("admission-standalone");
    }

    @Test
    void theStandaloneWebhookIsTwoHardenedReplicasWithOnlyItsConfigSecretsAndATempDir() {
        Manifests m = standalone();
        JsonNode spec = m.get("Deployment", "berth-admission").path("spec");
        assertThat(spec.path("replicas").asInt()).isEqualTo(2);
        assertThat(spec.path("strategy").path("rollingUpdate").path("maxUnavailable").asInt()).as("one always answers").isZero();
        JsonNode pod = m.podSpec("Deployment", "berth-admission");
        assertHardened(pod);
        assertThat(pod.path("serviceAccountName").asText()).isEqualTo("berth-admission");
        assertThat(m.get("ServiceAccount", "berth-admission").path("automountServiceAccountToken").asBoolean(true)).isFalse();
        JsonNode c = m.container("Deployment", "berth-admission");
        assertThat(c.path("args").toString()).isEqualTo("[\"admission\",\"/etc/berth/standalone/admission.yml\"]");
        assertThat(c.path("image").asText()).as("Berth's image, as the StatefulSet runs it")
                .isEqualTo(m.container("StatefulSet", "berth").path("image").asText());
        for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
            JsonNode get = c.path(probe).path("httpGet");
            assertThat(get.path("path").asText() + " " + get.path("port").asText() + " " + get.path("scheme").asText()).as(probe)
                    .isEqualTo("/healthz admission HTTPS");
        }
        for (JsonNode v : pod.path("volumes")) {
            assertThat(v.has("secret") || v.has("configMap") || v.path("emptyDir").has("sizeLimit")).as("stateless: %s", v).isTrue();
        }
        assertThat(m.volumeAt("Deployment", "berth-admission", "/etc/berth/standalone").path("configMap").path("name").asText())
                .startsWith("berth-admission-config-");
        JsonNode pdb = m.get("PodDisruptionBudget", "berth-admission").path("spec");
        assertThat(pdb.path("minAvailable").asInt()).isEqualTo(1);
        assertThat(selects(pdb.path("selector").path("matchLabels"), m, "Deployment", "berth-admission")).isTrue();
    }

    @Test
    void theStandaloneTakesOverTheWebhooksServiceAndNetworkPolicyAndLeavesTheWebhookAsItIs() {
        Manifests m = standalone();
        assertThat(m.get("ValidatingWebhookConfiguration", "berth-images")).isEqualTo(base().get("ValidatingWebhookConfiguration", "berth-images"));
        JsonNode selector = m.get("Service", "berth-admission").path("spec").path("selector");
        assertThat(selects(selector, m, "Deployment", "berth-admission")).isTrue();
        assertThat(selects(selector, m, "StatefulSet", "berth")).as("Berth no longer answers").isFalse();
        assertThat(m.containerPort("Deployment", "berth-admission", "admission")).isEqualTo(8443);
        assertThat(m.get("Service", "berth-admission").path("spec").path("ports").get(0).path("targetPort").asText()).isEqualTo("admission");

        JsonNode np = m.get("NetworkPolicy", "berth-admission").path("spec");
        assertThat(selects(np.path("podSelector").path("matchLabels"), m, "Deployment", "berth-admission")).isTrue();
        assertThat(np.path("ingress")).isEqualTo(base().get("NetworkPolicy", "berth-admission").path("spec").path("ingress"));
        JsonNode egress = m.get("NetworkPolicy", "berth-admission-egress").path("spec");
        assertThat(selects(egress.path("podSelector").path("matchLabels"), m, "Deployment", "berth-admission")).isTrue();
        assertThat(egress.path("policyTypes").toString()).isEqualTo("[\"Egress\"]");
        assertThat(Manifests.findAll(egress.path("egress"), "port").stream().map(JsonNode::asInt).toList())
                .as("DNS and the registry's HTTPS, nothing else").containsExactlyInAnyOrder(53, 53, 443);
    }

    /** admission.yml with the Deployment's environment is what `berth admission` reads, every file on its Secret. */
    @Test
    void theStandaloneConfigurationLoadsWithEveryFileOnItsSecret(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        Manifests m = standalone();
        String d = "Deployment";
        String n = "berth-admission";
        Map<String, String> env = new HashMap<>(m.env(d, n));
        env.remove("BERTH_JAVA_OPTS");
        RegistryConfig config = ConfigLoader.load(Files.writeString(tmp.resolve("admission.yml"), m.standaloneConfigYml()), env);
        var admission = config.trust().admission();
        assertThat(admission).isNotNull();
        assertThat(admission.addr().getPort()).isEqualTo(m.containerPort(d, n, "admission"));
        assertThat(m.secretAt(d, n, admission.tls().certificate().getParent().toString())).isEqualTo("berth-admission-tls");
        assertThat(admission.tls().key().getParent()).isEqualTo(admission.tls().certificate().getParent());
        assertThat(admission.hosts()).containsExactly("harbor.example.org");
        var registry = admission.registry();
        assertThat(registry).isNotNull();
        assertThat(registry.url()).hasToString("https://harbor.example.org");
        assertThat(registry.username()).isEqualTo("robot$cluster");
        assertThat(registry.passwordFile()).isNotNull();
        assertThat(m.secretAt(d, n, registry.passwordFile().getParent().toString())).isEqualTo("berth-admission-registry");
        assertThat(registry.cacheTtl()).isPositive();
        assertSignedByTheKeyOfSecretBerthCosign(config, m, d, n);
        assertThat(config.warnings()).isEmpty();
    }

    @Test
    void theStandaloneExampleIsThePolicyAndTheWebhookForTheNewRegistryWithoutBerth() {
        Manifests m = exampleStandalone();
        assertThat(m.ofKind("StatefulSet")).isEmpty();
        assertThat(m.find("Service", "berth")).isEmpty();
        assertThat(m.text()).doesNotContain(Workloads.HOST);
        assertThat(m.get("ConfigMap", "berth-admission-params").path("data").path("allowedHosts").asText()).isEqualTo("harbor.example.org");
        assertThat(m.env("Deployment", "berth-admission")).containsEntry("REGISTRY_BERTH_ADMISSION_HOSTS", "[harbor.example.org]")
                .containsEntry("REGISTRY_BERTH_ADMISSION_REGISTRY_URL", "https://harbor.example.org");
        assertThat(m.container("Deployment", "berth-admission").path("image").asText()).isEqualTo("ghcr.io/example/berth@sha256:" + "0".repeat(64));
        assertThat(m.get("ValidatingWebhookConfiguration", "berth-images")).isEqualTo(base().get("ValidatingWebhookConfiguration", "berth-images"));
        assertThat(m.find("ValidatingAdmissionPolicyBinding", Policy.NAME)).isPresent();
        assertThat(m.get("Service", "berth-admission").path("spec").path("selector").path("app.kubernetes.io/name").asText())
                .isEqualTo("berth-admission");
    }

    /** Whether {@code selector} (matchLabels) selects the pods of workload {@code kind}/{@code name}. */
    private static boolean selects(JsonNode selector, Manifests m, String kind, String name) {
        JsonNode labels = m.get(kind, name).path("spec").path("template").path("metadata").path("labels");
        boolean all = !selector.isEmpty();
        for (var e : selector.properties()) {
            all &= labels.path(e.getKey()).asText().equals(e.getValue().asText());
        }
        return all;
    }

    /** The webhook of berth-images (there is exactly one). */
    private static JsonNode webhook(Manifests m) {
        JsonNode webhooks = m.get("ValidatingWebhookConfiguration", "berth-images").path("webhooks");
        assertThat(webhooks.size()).isEqualTo(1);
        assertThat(webhooks.get(0).path("name").asText()).isEqualTo("images.berth.io");
        return webhooks.get(0);
    }

    /** Each rule as group/version/operation/resource, sorted; the webhook's scope (Namespaced) aside. */
    private static List<String> rules(JsonNode rules) {
        List<String> out = new ArrayList<>();
        for (JsonNode r : rules) {
            r.path("apiGroups").forEach(g -> r.path("apiVersions").forEach(v -> r.path("operations").forEach(o -> r.path("resources")
                    .forEach(res -> out.add(g.asText() + "/" + v.asText() + "/" + o.asText() + "/" + res.asText())))));
        }
        return out.stream().sorted().toList();
    }

    private static String networkPolicyIngressNamespace(Manifests m) {
        return m.get("NetworkPolicy", "berth").path("spec").path("ingress").get(0).path("from").get(0)
                .path("namespaceSelector").path("matchLabels").path("kubernetes.io/metadata.name").asText();
    }
}
