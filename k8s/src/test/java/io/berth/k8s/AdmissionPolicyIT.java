package io.berth.k8s;

import static io.berth.k8s.Workloads.DIGEST;
import static io.berth.k8s.Workloads.HEX;
import static io.berth.k8s.Workloads.HOST;
import static io.berth.k8s.Workloads.good;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.k8s.Workloads.Kind;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bypass catalogue: every known way around "only images from the registry, pinned by digest", each tried
 * against the real kube-apiserver with the rendered policy applied, and each refused with a message that names
 * the container and the image; compliant workloads and the exempt namespaces pass.
 */
class AdmissionPolicyIT {
    private static final String NS = "team-a";
    private static final AtomicInteger SEQ = new AtomicInteger();
    private static ControlPlane cp;

    @BeforeAll
    static void cluster() {
        cp = SharedCluster.withBerthApplied();
        Policy.namespace(cp, NS);
    }

    private static String name(String prefix) {
        return prefix + "-" + SEQ.incrementAndGet();
    }

    private static ControlPlane.Response create(String namespace, Kind kind, ObjectNode spec) {
        return cp.create(kind.collection(namespace), Workloads.object(kind, name(kind.resource), spec));
    }

    private static void assertRefused(ControlPlane.Response r, String field, String container, String image) {
        assertThat(r.status()).as("%s", r).isEqualTo(403);
        assertThat(r.message())
                .contains("ValidatingAdmissionPolicy '" + Policy.NAME + "'")
                .contains("images must be pinned by digest to " + HOST)
                .contains(field + " \"" + container + "\" image \"" + image + "\"");
    }

    private static void assertAdmitted(ControlPlane.Response r) {
        assertThat(r.status()).as("%s", r).isEqualTo(201);
    }

    // ---------------------------------------------------------------- admitted -----

    static Stream<String> compliantImages() {
        return Stream.of(
                good("team/app"),
                good("app"),
                good("a/b/c/d"),
                good("my-app_x.y__z"),
                good("my--app"),
                HOST + "/team/app:v1.2.3@" + DIGEST,            // tag and digest: the digest governs
                HOST + "/team/app:latest@" + DIGEST);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("compliantImages")
    void podPinnedByDigestToTheRegistryIsAdmitted(String image) {
        assertAdmitted(create(NS, Kind.POD, Workloads.podSpec(image)));
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void everyWorkloadKindPinnedByDigestIsAdmitted(Kind kind) {
        assertAdmitted(create(NS, kind, Workloads.withInit(Workloads.podSpec(good("team/app")), good("team/init"))));
    }

    @Test
    void exemptNamespacesAdmitAnyImage() {
        Policy.namespace(cp, "kube-system");     // its default ServiceAccount: no controller-manager makes it here
        Policy.namespace(cp, "berth-system");
        assertAdmitted(create("kube-system", Kind.POD, Workloads.podSpec("nginx:latest")));
        assertAdmitted(create("berth-system", Kind.DEPLOYMENT, Workloads.podSpec("docker.io/library/busybox:1")));
    }

    @Test
    void updateThatKeepsTheImagesIsAdmitted() {
        String pod = name("keep");
        assertAdmitted(cp.create(Kind.POD.collection(NS), Workloads.pod(pod, good("team/app"))));
        ObjectNode patch = Workloads.JSON.createObjectNode();
        patch.putObject("metadata").putObject("labels").put("tier", "web");
        assertThat(cp.patch(Kind.POD.collection(NS) + "/" + pod, patch).status()).isEqualTo(200);
    }

    @Test
    void compliantEphemeralContainerIsAdmitted() {
        String pod = name("debug-ok");
        assertAdmitted(cp.create(Kind.POD.collection(NS), Workloads.pod(pod, good("team/app"))));
        ControlPlane.Response r = addEphemeralContainer(pod, good("tools/debug"));
        assertThat(r.status()).as("%s", r).isEqualTo(200);
    }

    // ----------------------------------------------------------------- refused -----

    static Stream<Arguments> bypasses() {
        return Stream.of(
                // the host as a prefix without "/", or a suffix domain
                Arguments.of("prefix without slash", HOST + "evil.io/app@" + DIGEST),
                Arguments.of("host as a subdomain of another", HOST + ".evil.io/app@" + DIGEST),
                Arguments.of("trailing dot", HOST + "./app@" + DIGEST),
                Arguments.of("suffix domain", "evil-" + HOST + "/app@" + DIGEST),
                Arguments.of("suffix domain with dot", "evil." + HOST + "/app@" + DIGEST),
                Arguments.of("host inside the path", "evil.io/" + HOST + "/app@" + DIGEST),
                Arguments.of("userinfo trick", HOST + "@evil.io/app@" + DIGEST),
                Arguments.of("look-alike unicode host", "registry.myc\u043erp.local/app@" + DIGEST),
                // docker.io short names
                Arguments.of("short name", "nginx"),
                Arguments.of("short name with digest", "nginx@" + DIGEST),
                Arguments.of("library path with digest", "library/nginx@" + DIGEST),
                Arguments.of("docker.io with digest", "docker.io/library/nginx@" + DIGEST),
                Arguments.of("repository named like the host", "registry/app@" + DIGEST),
                // another port, other case
                Arguments.of("another port", HOST + ":5000/app@" + DIGEST),
                Arguments.of("explicit 443", HOST + ":443/app@" + DIGEST),
                Arguments.of("upper-case host", HOST.toUpperCase(java.util.Locale.ROOT) + "/app@" + DIGEST),
                Arguments.of("mixed-case host", "Registry.mycorp.local/app@" + DIGEST),
                // tag-only references
                Arguments.of("tag only", HOST + "/app:v1.2.3"),
                Arguments.of("latest", HOST + "/app:latest"),
                Arguments.of("no tag no digest", HOST + "/app"),
                // malformed digests
                Arguments.of("63 hex", HOST + "/app@sha256:" + HEX.substring(1)),
                Arguments.of("65 hex", HOST + "/app@sha256:" + HEX + "0"),
                Arguments.of("upper-case hex", HOST + "/app@sha256:" + HEX.toUpperCase(java.util.Locale.ROOT)),
                Arguments.of("not hex", HOST + "/app@sha256:" + "g".repeat(64)),
                Arguments.of("sha512", HOST + "/app@sha512:" + HEX + HEX),
                Arguments.of("no algorithm", HOST + "/app@" + HEX),
                Arguments.of("two digests", HOST + "/app@" + DIGEST + "@" + DIGEST),
                Arguments.of("digest then text", HOST + "/app@" + DIGEST + "x"),
                // malformed repositories
                Arguments.of("empty repository", HOST + "/@" + DIGEST),
                Arguments.of("empty path component", HOST + "//app@" + DIGEST),
                Arguments.of("dot-dot path", HOST + "/../evil/app@" + DIGEST),
                Arguments.of("upper-case repository", HOST + "/App@" + DIGEST),
                Arguments.of("leading separator", HOST + "/-app@" + DIGEST));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("bypasses")
    void podWithBypassImageIsRefused(String bypass, String image) {
        assertRefused(create(NS, Kind.POD, Workloads.podSpec(image)), "container", "app", image);
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void everyWorkloadKindWithATagOnlyImageIsRefused(Kind kind) {
        String image = HOST + "/team/app:v1";
        assertRefused(create(NS, kind, Workloads.podSpec(image)), "container", "app", image);
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void everyWorkloadKindWithAForeignInitContainerIsRefused(Kind kind) {
        String image = "docker.io/library/busybox@" + DIGEST;
        assertRefused(create(NS, kind, Workloads.withInit(Workloads.podSpec(good("team/app")), image)),
                "initContainer", "init", image);
    }

    @Test
    void ephemeralContainerWithAForeignImageIsRefused() {
        String pod = name("debug");
        assertAdmitted(cp.create(Kind.POD.collection(NS), Workloads.pod(pod, good("team/app"))));
        String image = "docker.io/library/busybox:latest";
        assertRefused(addEphemeralContainer(pod, image), "ephemeralContainer", "debugger", image);
    }

    @Test
    void updateThatSwapsThePodImageIsRefused() {
        String pod = name("swap");
        assertAdmitted(cp.create(Kind.POD.collection(NS), Workloads.pod(pod, good("team/app"))));
        String image = "evil.io/app@" + DIGEST;
        ObjectNode current = (ObjectNode) cp.get(Kind.POD.collection(NS) + "/" + pod).body();
        ((ObjectNode) current.path("spec").path("containers").get(0)).put("image", image);
        assertRefused(cp.put(Kind.POD.collection(NS) + "/" + pod, current), "container", "app", image);
    }

    @Test
    void updateThatSwapsADeploymentImageIsRefused() {
        String deployment = name("swap-deploy");
        assertAdmitted(cp.create(Kind.DEPLOYMENT.collection(NS), Workloads.object(Kind.DEPLOYMENT, deployment, Workloads.podSpec(good("team/app")))));
        String image = HOST + "/team/app:v2";
        ObjectNode current = (ObjectNode) cp.get(Kind.DEPLOYMENT.collection(NS) + "/" + deployment).body();
        ((ObjectNode) current.path("spec").path("template").path("spec").path("containers").get(0)).put("image", image);
        assertRefused(cp.put(Kind.DEPLOYMENT.collection(NS) + "/" + deployment, current), "container", "app", image);
    }

    @Test
    void lookAlikeNamespacesAreNotExempt() {
        String image = "nginx:latest";
        for (String ns : new String[] {"kube-system-2", "berth-system-dev", "xkube-system"}) {
            Policy.namespace(cp, ns);
            assertRefused(create(ns, Kind.POD, Workloads.podSpec(image)), "container", "app", image);
        }
    }

    @Test
    void aNamespaceCannotClaimTheExemptLabel() {
        Policy.namespace(cp, "sneaky", Map.of("kubernetes.io/metadata.name", "kube-system"));
        assertThat(cp.get("/api/v1/namespaces/sneaky").body().path("metadata").path("labels").path("kubernetes.io/metadata.name").asText())
                .as("the API server overwrites the label with the namespace's name").isEqualTo("sneaky");
        String image = "nginx:latest";
        assertRefused(create("sneaky", Kind.POD, Workloads.podSpec(image)), "container", "app", image);
    }

    @Test
    void everyOffendingContainerIsNamed() {
        ObjectNode spec = Workloads.withInit(Workloads.podSpec("nginx:1"), "busybox");
        spec.withArray("containers").add(Workloads.container("sidecar", good("team/ok")));
        ControlPlane.Response r = create(NS, Kind.POD, spec);
        assertRefused(r, "container", "app", "nginx:1");
        assertThat(r.message()).contains("initContainer \"init\" image \"busybox\"").doesNotContain("sidecar");
    }

    private static ControlPlane.Response addEphemeralContainer(String pod, String image) {
        ObjectNode current = (ObjectNode) cp.get(Kind.POD.collection(NS) + "/" + pod).body();
        ((ObjectNode) current.path("spec")).withArray("ephemeralContainers").add(Workloads.container("debugger", image));
        return cp.put(Kind.POD.collection(NS) + "/" + pod + "/ephemeralcontainers", current);
    }
}
