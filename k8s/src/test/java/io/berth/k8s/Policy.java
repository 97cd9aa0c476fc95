package io.berth.k8s;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.conformance.Daemon;
import java.time.Duration;
import java.util.Map;

/** Test-side handling of the policy on a live control plane: namespaces to test in, waiting for changes to apply. */
final class Policy {
    static final String NAME = "berth-images-by-digest";
    static final String PARAMS = "/api/v1/namespaces/berth-system/configmaps/berth-admission-params";
    static final String BINDING = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/" + NAME;
    static final String PROBE_NAMESPACE = "berth-probe";

    private Policy() {}

    /** Creates {@code name} (if new) with {@code labels} and its {@code default} ServiceAccount (no controller makes it here). */
    static void namespace(ControlPlane cp, String name, Map<String, String> labels) {
        ObjectNode ns = Workloads.JSON.createObjectNode().put("apiVersion", "v1").put("kind", "Namespace");
        ObjectNode meta = ns.putObject("metadata").put("name", name);
        ObjectNode l = meta.putObject("labels");
        labels.forEach(l::put);
        ControlPlane.Response r = cp.create("/api/v1/namespaces", ns);
        if (r.status() != 201 && r.status() != 409) {
            throw new AssertionError("create namespace " + name + ": " + r);
        }
        ObjectNode sa = Workloads.JSON.createObjectNode().put("apiVersion", "v1").put("kind", "ServiceAccount");
        sa.putObject("metadata").put("name", "default");
        ControlPlane.Response s = cp.create("/api/v1/namespaces/" + name + "/serviceaccounts", sa);
        if (s.status() != 201 && s.status() != 409) {
            throw new AssertionError("create serviceaccount default in " + name + ": " + s);
        }
    }

    static void namespace(ControlPlane cp, String name) {
        namespace(cp, name, Map.of());
    }

    /** A dry-run create of a pod running {@code image}: the admission verdict without keeping anything. */
    static ControlPlane.Response probe(ControlPlane cp, String namespace, String image) {
        ObjectNode pod = Workloads.pod("probe-" + System.nanoTime(), image);
        return cp.create(Workloads.Kind.POD.collection(namespace) + "?dryRun=All", pod);
    }

    /** Waits until the policy refuses a tag-only image in an ordinary namespace (policies take effect asynchronously). */
    static void awaitEnforced(ControlPlane cp, Duration timeout) {
        namespace(cp, PROBE_NAMESPACE);
        await(cp, timeout, "the policy to refuse docker.io/library/nginx:latest",
                () -> probe(cp, PROBE_NAMESPACE, "nginx:latest").status() == 403
                        && probe(cp, PROBE_NAMESPACE, Workloads.good("probe/app")).status() == 201);
    }

    static void await(ControlPlane cp, Duration timeout, String what, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what + "\n" + cp.logTail());
            }
            Daemon.sleep(Duration.ofMillis(250));
        }
    }
}
