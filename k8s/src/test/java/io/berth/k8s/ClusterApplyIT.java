package io.berth.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.conformance.Proc;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The default deployment applied server-side to a real API server, as the README says, and the scripts an
 * operator runs against it: bootstrap-secrets.sh (TLS and auth Secrets), webhook-ca-bundle.sh (the webhook's
 * caBundle) and pull-secret.sh (imagePullSecrets).
 */
class ClusterApplyIT {
    private static ControlPlane cp;

    @BeforeAll
    static void cluster() {
        cp = SharedCluster.withBerthApplied();
    }

    @Test
    void serverSideApplyCreatesEveryObjectWithoutWarnings() {
        String out = SharedCluster.applyOutput();
        assertThat(out).contains(
                "namespace/berth-system serverside-applied",
                "statefulset.apps/berth serverside-applied",
                "service/berth serverside-applied",
                "ingress.networking.k8s.io/berth serverside-applied",
                "networkpolicy.networking.k8s.io/berth serverside-applied",
                "poddisruptionbudget.policy/berth serverside-applied",
                "service/berth-admission serverside-applied",
                "networkpolicy.networking.k8s.io/berth-admission serverside-applied",
                "validatingwebhookconfiguration.admissionregistration.k8s.io/berth-images serverside-applied",
                "validatingadmissionpolicy.admissionregistration.k8s.io/berth-images-by-digest serverside-applied",
                "validatingadmissionpolicybinding.admissionregistration.k8s.io/berth-images-by-digest serverside-applied");
        assertThat(out).as("no Pod Security or deprecation warnings").doesNotContainIgnoringCase("warning");
    }

    @Test
    void thePolicyTypeChecksCleanly() {
        JsonNode status = cp.get("/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/" + Policy.NAME).body().path("status");
        assertThat(status.path("typeChecking").path("expressionWarnings").isEmpty())
                .as("type-checking warnings: %s", status).isTrue();
    }

    @Test
    void reapplyingChangesNothing() {
        String out = cp.kubectl(SharedCluster.rendered(), "apply", "--server-side", "--field-manager=berth-test", "-f", "-")
                .requireSuccess().output();
        assertThat(out).doesNotContain("configured", "created");
        Proc.Result diff = cp.kubectl(SharedCluster.rendered(), "diff", "--server-side", "--field-manager=berth-test", "-f", "-");
        assertThat(diff.exitCode()).as("kubectl diff finds no difference:%n%s", diff.output()).isZero();
    }

    @Test
    void berthsPodPassesPodSecurityRestricted() {
        JsonNode template = cp.get("/apis/apps/v1/namespaces/berth-system/statefulsets/berth").body().path("spec").path("template");
        ObjectNode pod = Workloads.JSON.createObjectNode().put("apiVersion", "v1").put("kind", "Pod");
        pod.putObject("metadata").put("name", "berth-psa-check");
        ObjectNode spec = template.path("spec").deepCopy();
        spec.withArray("volumes").addObject().put("name", "data").putObject("emptyDir");   // the volumeClaimTemplate's
        pod.set("spec", spec);
        ControlPlane.Response r = cp.create("/api/v1/namespaces/berth-system/pods?dryRun=All", pod);
        assertThat(r.status()).as("%s", r).isEqualTo(201);
        assertThat(r.warnings()).isEmpty();
        assertThat(cp.get("/api/v1/namespaces/berth-system").body().path("metadata").path("labels")
                .path("pod-security.kubernetes.io/enforce").asText()).isEqualTo("restricted");
    }

    @Test
    void bootstrapSecretsMakesEveryReferencedSecretOnceAndReusesIt(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("berth-secrets");
        Cosign cosign = Cosign.generate(tmp.resolve("cosign"));
        runScript("bootstrap-secrets.sh", "--dir", dir.toString(), "--cosign-pub", cosign.publicKey().toString());
        JsonNode tls = secret("berth-tls");
        JsonNode auth = secret("berth-auth");
        assertThat(tls.path("type").asText()).isEqualTo("kubernetes.io/tls");
        assertThat(fieldNames(secret("berth-ca").path("data"))).containsExactlyInAnyOrder("tls.crt", "ca.crt");
        assertThat(fieldNames(auth.path("data"))).containsExactlyInAnyOrder("htpasswd", "token.key", "token.crt");
        String htpasswd = decode(auth, "htpasswd");
        assertThat(htpasswd.lines().map(l -> l.substring(0, l.indexOf(':'))).toList()).containsExactly("admin", "ci", "cluster");
        assertThat(htpasswd.lines().allMatch(l -> l.contains(":$2y$"))).as("bcrypt: %s", htpasswd).isTrue();
        assertThat(cp.get("/api/v1/namespaces/berth-system/configmaps/berth-ca").body().path("data").path("ca.crt").asText())
                .startsWith("-----BEGIN CERTIFICATE-----");

        Proc.Result san = Proc.run(List.of("openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", dir.resolve("tls.crt").toString()),
                Map.of(), Duration.ofSeconds(30), null).requireSuccess();
        assertThat(san.output()).contains("DNS:" + Workloads.HOST, "DNS:berth.berth-system.svc", "DNS:berth.berth-system.svc.cluster.local");
        Proc.run(List.of("openssl", "verify", "-CAfile", dir.resolve("ca.crt").toString(), dir.resolve("tls.crt").toString()),
                Map.of(), Duration.ofSeconds(30), null).requireSuccess();

        JsonNode admission = secret("berth-admission-tls");
        assertThat(admission.path("type").asText()).isEqualTo("kubernetes.io/tls");
        assertThat(fieldNames(admission.path("data"))).containsExactlyInAnyOrder("tls.crt", "tls.key", "ca.crt");
        assertThat(decode(admission, "ca.crt")).isEqualTo(decode(secret("berth-ca"), "ca.crt"));
        Proc.Result admissionSan = Proc.run(List.of("openssl", "x509", "-noout", "-ext", "subjectAltName,extendedKeyUsage",
                "-in", dir.resolve("admission.crt").toString()), Map.of(), Duration.ofSeconds(30), null).requireSuccess();
        assertThat(admissionSan.output()).as("the name the API server calls the webhook Service by")
                .contains("DNS:berth-admission.berth-system.svc", "TLS Web Server Authentication");
        Proc.run(List.of("openssl", "verify", "-CAfile", dir.resolve("ca.crt").toString(), dir.resolve("admission.crt").toString()),
                Map.of(), Duration.ofSeconds(30), null).requireSuccess();

        JsonNode signing = secret("berth-cosign");
        assertThat(fieldNames(signing.path("data"))).containsExactly("cosign.pub");
        assertThat(decode(signing, "cosign.pub")).isEqualTo(Files.readString(cosign.publicKey()));

        String tlsBefore = decode(tls, "tls.crt");
        String admissionBefore = decode(admission, "tls.crt");
        runScript("bootstrap-secrets.sh", "--dir", dir.toString());
        assertThat(decode(secret("berth-tls"), "tls.crt")).as("a second run reuses the certificate").isEqualTo(tlsBefore);
        assertThat(decode(secret("berth-admission-tls"), "tls.crt")).isEqualTo(admissionBefore);
        assertThat(decode(secret("berth-cosign"), "cosign.pub")).as("and the key").isEqualTo(Files.readString(cosign.publicKey()));

        // A rotation: the old key and the new one in one file, until every running image is signed by the new one.
        Path both = tmp.resolve("rotation.pub");
        Files.writeString(both, Files.readString(cosign.publicKey()) + Files.readString(Cosign.generate(tmp.resolve("next")).publicKey()));
        runScript("bootstrap-secrets.sh", "--dir", dir.toString(), "--cosign-pub", both.toString());
        assertThat(decode(secret("berth-cosign"), "cosign.pub")).isEqualTo(Files.readString(both));
    }

    @Test
    void bootstrapSecretsRefusesCosignsPrivateKeyForTheTrustedKey(@TempDir Path tmp) {
        Cosign cosign = Cosign.generate(tmp.resolve("cosign"));
        Proc.Result r = script("bootstrap-secrets.sh", "--dir", tmp.resolve("berth-secrets").toString(), "--dry-run",
                "--cosign-pub", cosign.privateKey().toString());
        assertThat(r.exitCode()).as("%s", r.output()).isEqualTo(2);
        assertThat(r.output()).contains("expected cosign.pub (PUBLIC KEY blocks only)").doesNotContain("kind: Secret");
        assertThat(tmp.resolve("berth-secrets")).as("nothing generated").doesNotExist();
    }

    /** The standalone webhook, as after the move (k8s/examples/standalone), passes the API server's checks and Pod Security. */
    @Test
    void theStandaloneWebhookAppliesWithoutWarnings() {
        String rendered = Manifests.renderOverlayText("deploy/admission", """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources:
                  - ../../berth/k8s/admission
                  - ../../berth/k8s/webhook
                components:
                  - ../../berth/k8s/components/admission-standalone
                """, "berth", Tools.k8sDir().getParent());
        Proc.Result r = cp.kubectl(rendered, "apply", "--server-side", "--dry-run=server", "--field-manager=berth-test", "-f", "-");
        assertThat(r.exitCode()).as("%s", r.output()).isZero();
        assertThat(r.output()).contains("deployment.apps/berth-admission serverside-applied (server dry run)",
                "poddisruptionbudget.policy/berth-admission serverside-applied (server dry run)",
                "networkpolicy.networking.k8s.io/berth-admission-egress serverside-applied (server dry run)",
                "service/berth-admission serverside-applied (server dry run)");
        assertThat(r.output()).as("no Pod Security or deprecation warnings").doesNotContainIgnoringCase("warning");
    }

    @Test
    void webhookCaBundleGivesTheWebhookTheSecretsCaAndReapplyingKeepsIt(@TempDir Path tmp) {
        runScript("bootstrap-secrets.sh", "--dir", tmp.resolve("berth-secrets").toString());
        runScript("webhook-ca-bundle.sh");
        String ca = secret("berth-admission-tls").path("data").path("ca.crt").asText();
        assertThat(caBundle()).isEqualTo(ca);

        cp.kubectl(SharedCluster.rendered(), "apply", "--server-side", "--field-manager=berth-test", "-f", "-").requireSuccess();
        assertThat(caBundle()).as("the manifests leave caBundle to the script").isEqualTo(ca);
        runScript("webhook-ca-bundle.sh");
        assertThat(caBundle()).isEqualTo(ca);
    }

    @Test
    void pullSecretGivesANamespaceTheReadOnlyAccountOnce(@TempDir Path tmp) throws Exception {
        Policy.namespace(cp, "team-pull");
        Path password = Files.writeString(tmp.resolve("cluster.password"), "s3cret-pull");
        runScript("pull-secret.sh", "team-pull", "--password-file", password.toString());
        runScript("pull-secret.sh", "team-pull", "--password-file", password.toString(), "--service-account", "default",
                "--service-account", "builder");

        JsonNode secret = cp.get("/api/v1/namespaces/team-pull/secrets/berth-pull").body();
        assertThat(secret.path("type").asText()).isEqualTo("kubernetes.io/dockerconfigjson");
        JsonNode auth = Workloads.JSON.readTree(decode(secret, ".dockerconfigjson")).path("auths").path(Workloads.HOST);
        assertThat(auth.path("username").asText()).isEqualTo("cluster");
        assertThat(auth.path("password").asText()).isEqualTo("s3cret-pull");
        for (String sa : List.of("default", "builder")) {
            JsonNode pullSecrets = cp.get("/api/v1/namespaces/team-pull/serviceaccounts/" + sa).body().path("imagePullSecrets");
            assertThat(pullSecrets.toString()).as(sa).isEqualTo("[{\"name\":\"berth-pull\"}]");
        }
    }

    private static void runScript(String script, String... args) {
        script(script, args).requireSuccess();
    }

    private static Proc.Result script(String script, String... args) {
        List<String> command = new java.util.ArrayList<>(List.of("bash", Tools.k8sDir().resolve("scripts").resolve(script).toString()));
        command.addAll(List.of(args));
        Map<String, String> env = new HashMap<>(cp.kubectlEnv());
        env.put("PATH", Path.of(Tools.tool("KUBECTL")).getParent() + ":" + System.getenv("PATH"));
        return Proc.run(command, env, Duration.ofMinutes(2), null);
    }

    private static String caBundle() {
        ControlPlane.Response r = cp.get("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/berth-images");
        assertThat(r.status()).as("%s", r).isEqualTo(200);
        return r.body().path("webhooks").get(0).path("clientConfig").path("caBundle").asText();
    }

    private static JsonNode secret(String name) {
        ControlPlane.Response r = cp.get("/api/v1/namespaces/berth-system/secrets/" + name);
        assertThat(r.status()).as("%s", r).isEqualTo(200);
        return r.body();
    }

    private static String decode(JsonNode secret, String key) {
        return new String(Base64.getDecoder().decode(secret.path("data").path(key).asText()), StandardCharsets.UTF_8);
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> out = new java.util.ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
