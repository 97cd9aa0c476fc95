package io.berth.k8s;

import io.berth.conformance.Daemon;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * The one control plane all cluster tests share (starting kube-apiserver takes a while), with Berth's default
 * deployment applied the way the README says: {@code kubectl kustomize k8s | kubectl apply --server-side -f -}.
 * It stops when the test JVM exits.
 */
final class SharedCluster {
    private static @Nullable ControlPlane cluster;
    private static @Nullable String applyOutput;

    private SharedCluster() {}

    static synchronized ControlPlane get() {
        if (cluster == null) {
            Path dir;
            try {
                dir = Files.createTempDirectory(Path.of("/tmp"), "berth-k8s-");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            ControlPlane cp;
            try {
                cp = ControlPlane.start(dir);
            } catch (RuntimeException | Error e) {
                Daemon.deleteTree(dir);
                throw e;
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                cp.close();
                Daemon.deleteTree(dir);
            }, "berth-k8s-stop"));
            cluster = cp;
        }
        return cluster;
    }

    /** The shared control plane with the default deployment applied; the apply's output is kept for assertions. */
    static synchronized ControlPlane withBerthApplied() {
        ControlPlane cp = get();
        if (applyOutput == null) {
            String rendered = Manifests.renderText(Tools.k8sDir());
            applyOutput = cp.kubectl(rendered, "apply", "--server-side", "--field-manager=berth-test", "-f", "-")
                    .requireSuccess().output();
            Policy.awaitEnforced(cp, Duration.ofMinutes(1));
        }
        return cp;
    }

    static synchronized String applyOutput() {
        withBerthApplied();
        return applyOutput == null ? "" : applyOutput;
    }
}
