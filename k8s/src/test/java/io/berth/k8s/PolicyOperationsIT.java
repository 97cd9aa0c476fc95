package io.berth.k8s;

import static io.berth.k8s.Workloads.DIGEST;
import static io.berth.k8s.Workloads.HOST;
import static io.berth.k8s.Workloads.good;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.k8s.Workloads.Kind;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Operating the policy on a live API server: a second host during a migration, the Warn-then-Deny rollout with
 * objects that predate enforcement, failing closed without parameters, and who may weaken it (RBAC).
 * Each test restores the applied state, and waits until the API server enforces it again.
 */
class PolicyOperationsIT {
    private static final String NS = "team-ops";
    private static ControlPlane cp;

    @BeforeAll
    static void cluster() {
        cp = SharedCluster.withBerthApplied();
        Policy.namespace(cp, NS);
    }

    @AfterEach
    void restoreTheAppliedPolicy() {
        String rendered = SharedCluster.rendered();
        cp.kubectl(rendered, "apply", "--server-side", "--field-manager=berth-test", "--force-conflicts", "-f", "-").requireSuccess();
        Policy.awaitEnforced(cp, Duration.ofMinutes(1));
        Policy.await(cp, Duration.ofMinutes(1), "harbor to be refused again",
                () -> Policy.probe(cp, NS, "harbor.mycorp.local/team/app@" + DIGEST).status() == 403);
    }

    private static void setAllowedHosts(String hosts) {
        ObjectNode patch = Workloads.JSON.createObjectNode();
        patch.putObject("data").put("allowedHosts", hosts);
        assertThat(cp.patch(Policy.PARAMS, patch).status()).isEqualTo(200);
    }

    private static void setValidationActions(String... actions) {
        ObjectNode patch = Workloads.JSON.createObjectNode();
        var list = patch.putObject("spec").putArray("validationActions");
        for (String a : actions) {
            list.add(a);
        }
        assertThat(cp.patch(Policy.BINDING, patch).status()).isEqualTo(200);
    }

    @Test
    void aMigrationWindowAllowsTwoHostsByChangingTheParametersOnly() {
        String harbor = "harbor.mycorp.local/team/app@" + DIGEST;
        assertThat(Policy.probe(cp, NS, harbor).status()).isEqualTo(403);

        setAllowedHosts(HOST + ", harbor.mycorp.local");
        Policy.await(cp, Duration.ofMinutes(1), "harbor to be admitted", () -> Policy.probe(cp, NS, harbor).status() == 201);

        assertThat(Policy.probe(cp, NS, good("team/app")).status()).isEqualTo(201);
        assertThat(Policy.probe(cp, NS, "harbor.mycorp.local/team/app:v1").status()).as("still by digest only").isEqualTo(403);
        assertThat(Policy.probe(cp, NS, "harbor.mycorp.local.evil.io/team/app@" + DIGEST).status()).isEqualTo(403);

        setAllowedHosts("harbor.mycorp.local");
        Policy.await(cp, Duration.ofMinutes(1), "the old host to be refused", () -> Policy.probe(cp, NS, good("team/app")).status() == 403);
    }

    @Test
    void withoutItsParametersThePolicyFailsClosed() {
        assertThat(cp.delete(Policy.PARAMS).status()).isEqualTo(200);
        Policy.await(cp, Duration.ofMinutes(1), "a compliant pod to be refused", () -> Policy.probe(cp, NS, good("team/app")).status() != 201);
        ControlPlane.Response r = Policy.probe(cp, NS, good("team/app"));
        assertThat(r.status()).as("%s", r).isEqualTo(422);
        assertThat(r.message()).contains("ValidatingAdmissionPolicy '" + Policy.NAME + "'", "no params found");
    }

    @Test
    void warnModeAdmitsWithAWarningAndDenyKeepsOldObjectsManageable() {
        setValidationActions("Warn", "Audit");
        Policy.await(cp, Duration.ofMinutes(1), "warn mode", () -> Policy.probe(cp, NS, "nginx:1").status() == 201);

        ControlPlane.Response legacy = cp.create(Kind.DEPLOYMENT.collection(NS),
                Workloads.object(Kind.DEPLOYMENT, "legacy", Workloads.podSpec("nginx:1")));
        assertThat(legacy.status()).as("%s", legacy).isEqualTo(201);
        assertThat(String.join("\n", legacy.warnings())).contains("container \\\"app\\\" image \\\"nginx:1\\\"");

        setValidationActions("Deny");
        Policy.awaitEnforced(cp, Duration.ofMinutes(1));

        String path = Kind.DEPLOYMENT.collection(NS) + "/legacy";
        ObjectNode scale = Workloads.JSON.createObjectNode();
        scale.putObject("spec").put("replicas", 3);
        assertThat(cp.patch(path, scale).status()).as("same images: a new replica count is admitted").isEqualTo(200);
        ObjectNode label = Workloads.JSON.createObjectNode();
        label.putObject("metadata").putObject("labels").put("owner", "ops");
        assertThat(cp.patch(path, label).status()).as("same images: labels are admitted").isEqualTo(200);

        ObjectNode current = (ObjectNode) cp.get(path).body();
        ((ObjectNode) current.path("spec").path("template").path("spec").path("containers").get(0)).put("image", "nginx:2");
        ControlPlane.Response swap = cp.put(path, current);
        assertThat(swap.status()).as("%s", swap).isEqualTo(403);
        assertThat(swap.message()).contains("container \"app\" image \"nginx:2\"");
    }

    @Test
    void aNamespaceAdminCannotWeakenThePolicy() {
        // A RoleBinding to a Role with every verb on every namespaced resource: the most a namespace owner gets.
        Policy.namespace(cp, "team-dev");
        ObjectNode binding = Workloads.JSON.createObjectNode().put("apiVersion", "rbac.authorization.k8s.io/v1").put("kind", "RoleBinding");
        binding.putObject("metadata").put("name", "dev-admin");
        // What the built-in `admin` role grants in a namespace (no controller-manager aggregates it here): everything
        // namespaced, in this namespace only.
        ObjectNode role = Workloads.JSON.createObjectNode().put("apiVersion", "rbac.authorization.k8s.io/v1").put("kind", "Role");
        role.putObject("metadata").put("name", "namespace-admin");
        role.putArray("rules").addObject().<ObjectNode>set("apiGroups", Workloads.JSON.valueToTree(new String[] {"*"}))
                .<ObjectNode>set("resources", Workloads.JSON.valueToTree(new String[] {"*"}))
                .set("verbs", Workloads.JSON.valueToTree(new String[] {"*"}));
        assertThat(cp.create("/apis/rbac.authorization.k8s.io/v1/namespaces/team-dev/roles", role).status()).isEqualTo(201);
        binding.putObject("roleRef").put("apiGroup", "rbac.authorization.k8s.io").put("kind", "Role").put("name", "namespace-admin");
        binding.putArray("subjects").addObject().put("apiGroup", "rbac.authorization.k8s.io").put("kind", "User").put("name", "dev");
        assertThat(cp.create("/apis/rbac.authorization.k8s.io/v1/namespaces/team-dev/rolebindings", binding).status()).isEqualTo(201);

        String podPath = Kind.POD.collection("team-dev");
        Policy.await(cp, Duration.ofSeconds(30), "dev's RoleBinding to take effect", () ->
                cp.send("POST", podPath + "?dryRun=All", Workloads.pod("ok", good("team/app")), ControlPlane.DEV_TOKEN, "application/json").status() == 201);
        assertThat(cp.send("POST", podPath, Workloads.pod("bad", "nginx:1"), ControlPlane.DEV_TOKEN, "application/json").status())
                .as("dev's own namespace is policed").isEqualTo(403);

        assertThat(cp.send("DELETE", Policy.BINDING, null, ControlPlane.DEV_TOKEN, "application/json").status()).isEqualTo(403);
        assertThat(cp.send("DELETE", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/" + Policy.NAME, null,
                ControlPlane.DEV_TOKEN, "application/json").status()).isEqualTo(403);
        ObjectNode widen = Workloads.JSON.createObjectNode();
        widen.putObject("data").put("allowedHosts", "docker.io");
        assertThat(cp.send("PATCH", Policy.PARAMS, widen, ControlPlane.DEV_TOKEN, "application/merge-patch+json").status()).isEqualTo(403);
        assertThat(cp.send("POST", Kind.POD.collection("kube-system"), Workloads.pod("escape", "nginx:1"), ControlPlane.DEV_TOKEN,
                "application/json").status()).as("no pods in an exempt namespace").isEqualTo(403);
        // `*` on `*` in a namespace includes its own Namespace object; the name label still cannot be changed.
        ObjectNode relabel = Workloads.JSON.createObjectNode();
        relabel.putObject("metadata").putObject("labels").put("kubernetes.io/metadata.name", "kube-system");
        cp.send("PATCH", "/api/v1/namespaces/team-dev", relabel, ControlPlane.DEV_TOKEN, "application/merge-patch+json");
        assertThat(cp.get("/api/v1/namespaces/team-dev").body().path("metadata").path("labels").path("kubernetes.io/metadata.name").asText())
                .isEqualTo("team-dev");
        assertThat(cp.send("POST", podPath, Workloads.pod("bad-2", "nginx:1"), ControlPlane.DEV_TOKEN, "application/json").status())
                .isEqualTo(403);
    }
}
