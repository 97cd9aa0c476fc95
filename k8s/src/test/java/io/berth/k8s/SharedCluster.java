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
    /**
     * No Berth runs behind the applied webhook's Service here (no kubelet, no Service network), and it fails closed:
     * as applied, it would refuse every pod the other tests create. So the tests apply it narrowed to namespaces
     * with this label, which none has. {@link AdmissionWebhookIT} runs the same webhook against a live Berth.
     */
    static final String UNSERVED_WEBHOOK_LABEL = "berth-test/no-berth-behind-the-webhook";

    private static @Nullable ControlPlane cluster;
    private static @Nullable String applyOutput;
    private static @Nullable String rendered;

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
            applyOutput = cp.kubectl(rendered(), "apply", "--server-side", "--field-manager=berth-test", "-f", "-")
                    .requireSuccess().output();
            Policy.awaitEnforced(cp, Duration.ofMinutes(1));
        }
        return cp;
    }

    /**
     * The default deployment as the tests apply it: {@code kubectl kustomize k8s}, with the webhook's namespaceSelector
     * also requiring {@link #UNSERVED_WEBHOOK_LABEL}.
     */
    static synchronized String rendered() {
        if (rendered == null) {
            rendered = Manifests.renderOverlayText("applied", """
                    apiVersion: kustomize.config.k8s.io/v1beta1
                    kind: Kustomization
                    resources:
                      - ../k8s
                    patches:
                      - target:
                          kind: ValidatingWebhookConfiguration
                          name: berth-images
                        patch: |-
                          - op: add
                            path: /webhooks/0/namespaceSelector/matchExpressions/-
                            value: {key: %s, operator: Exists}
                    """.formatted(UNSERVED_WEBHOOK_LABEL), "k8s", Tools.k8sDir());
        }
        return rendered;
    }

    static synchronized String applyOutput() {
        withBerthApplied();
        return applyOutput == null ? "" : applyOutput;
    }
}
