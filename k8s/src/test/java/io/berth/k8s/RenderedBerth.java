package io.berth.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.conformance.Daemon;
import io.berth.conformance.Proc;
import io.berth.server.Berth;
import io.berth.server.config.ConfigLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Berth as the shipped deployment runs it: the rendered ConfigMap's config.yml with the StatefulSet's environment, on
 * the Secrets {@code bootstrap-secrets.sh} makes ({@code berth-cosign} from a key pair the real cosign generated). Only
 * file paths and addresses point elsewhere: the listeners bind 127.0.0.1, and the webhook presents the registry's
 * certificate (it names 127.0.0.1; the webhook's own names berth-admission.berth-system.svc).
 */
final class RenderedBerth implements AutoCloseable {
    /** Where the StatefulSet mounts Secret berth-cosign's key. */
    static final String COSIGN_PUB = "/etc/berth/cosign/cosign.pub";

    private final Berth berth;
    private final String host;
    private final Path secrets;
    private final Cosign cosign;

    private RenderedBerth(Berth berth, String host, Path secrets, Cosign cosign) {
        this.berth = berth;
        this.host = host;
        this.secrets = secrets;
        this.cosign = cosign;
    }

    static RenderedBerth start(Path work) throws IOException {
        Setup setup = prepare(work);
        Map<String, String> env = new HashMap<>(setup.env());
        env.put("REGISTRY_BERTH_ADMISSION_ADDR", "127.0.0.1:0");
        Berth berth = Berth.builder().config(ConfigLoader.load(setup.config(), env)).build();
        berth.start();
        return new RenderedBerth(berth, setup.host(), setup.secrets(), setup.cosign());
    }

    /**
     * What Berth is started from: the rendered config.yml written to {@code config}, the StatefulSet's environment with
     * the paths and loopback addresses of the test (the webhook on 127.0.0.1:{@code admissionPort}; start() makes it
     * 0), and {@code javaOptions}, the StatefulSet's BERTH_JAVA_OPTS (which the environment no longer carries) with
     * {@code -XX:MaxRAM} at its memory limit, as the container's JVM sees it.
     */
    record Setup(Path config, Map<String, String> env, String host, int debugPort, int admissionPort, Path secrets, Cosign cosign,
            List<String> javaOptions) {}

    static Setup prepare(Path work) throws IOException {
        Path secrets = work.resolve("secrets");
        Cosign cosign = Cosign.generate(work.resolve("cosign"));
        script("bootstrap-secrets.sh", "--host", "127.0.0.1", "--dir", secrets.toString(), "--cosign-pub", cosign.publicKey().toString(),
                "--dry-run").requireSuccess();
        Manifests m = Manifests.render(Tools.k8sDir());
        // berth.trust's key file (Secret berth-cosign) sits inside a list the environment could only replace whole: its path too.
        String yml = m.berthConfigYml();
        assertThat(yml).contains(COSIGN_PUB);
        Path config = Files.writeString(work.resolve("config.yml"), yml.replace(COSIGN_PUB, secrets.resolve("cosign.pub").toString()));
        String host = "127.0.0.1:" + Daemon.freePort();
        int debugPort = Daemon.freePort();
        int admissionPort = Daemon.freePort();
        Map<String, String> env = new HashMap<>(m.berthEnv());
        List<String> javaOptions = new ArrayList<>(List.of(env.remove("BERTH_JAVA_OPTS").strip().split("\\s+")));
        javaOptions.add("-XX:MaxRAM=" + mebibytes(m.container("StatefulSet", "berth").path("resources").path("limits").path("memory").asText()) + "m");
        env.put("REGISTRY_HTTP_ADDR", host);
        env.put("REGISTRY_HTTP_DEBUG_ADDR", "127.0.0.1:" + debugPort);
        env.put("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", work.resolve("data").toString());
        env.put("REGISTRY_HTTP_TLS_CERTIFICATE", secrets.resolve("tls.crt").toString());
        env.put("REGISTRY_HTTP_TLS_KEY", secrets.resolve("tls.key").toString());
        env.put("REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE", secrets.resolve("token.crt").toString());
        env.put("REGISTRY_BERTH_TOKENISSUER_HTPASSWD", secrets.resolve("htpasswd").toString());
        env.put("REGISTRY_BERTH_TOKENISSUER_KEY", secrets.resolve("token.key").toString());
        env.put("REGISTRY_BERTH_ADMISSION_ADDR", "127.0.0.1:" + admissionPort);
        env.put("REGISTRY_BERTH_ADMISSION_TLS_CERTIFICATE", secrets.resolve("tls.crt").toString());
        env.put("REGISTRY_BERTH_ADMISSION_TLS_KEY", secrets.resolve("tls.key").toString());
        // The realm nodes and CI use: https://<registry host>/auth/token, here the loopback address.
        env.put("REGISTRY_AUTH_TOKEN_REALM", env.get("REGISTRY_AUTH_TOKEN_REALM").replace(Workloads.HOST, host));
        return new Setup(config, Map.copyOf(env), host, debugPort, admissionPort, secrets, cosign, List.copyOf(javaOptions));
    }

    /** A Kubernetes memory quantity in Mi or Gi, in MiB. */
    private static long mebibytes(String quantity) {
        if (!quantity.endsWith("Mi") && !quantity.endsWith("Gi")) {
            throw new AssertionError("the StatefulSet's memory limit is not in Mi or Gi: " + quantity);
        }
        return Long.parseLong(quantity.substring(0, quantity.length() - 2)) * (quantity.endsWith("Gi") ? 1024 : 1);
    }

    /** 127.0.0.1:port, the registry host in image references and logins. */
    String host() {
        return host;
    }

    /** The directory bootstrap-secrets.sh wrote: ca.crt, tls.*, the accounts' passwords, cosign.pub. */
    Path secrets() {
        return secrets;
    }

    /** The key pair whose public half is Secret berth-cosign's. */
    Cosign cosign() {
        return cosign;
    }

    InetSocketAddress admissionAddress() {
        return berth.admissionAddress();
    }

    String password(String account) {
        try {
            return Files.readString(secrets.resolve(account + ".password")).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Go clients (crane, cosign, oras) trusting the registry's CA. */
    Map<String, String> trustEnv() {
        return Map.of("SSL_CERT_FILE", secrets.resolve("ca.crt").toString());
    }

    @Override
    public void close() {
        berth.close();
    }

    /** Runs one of k8s/scripts with the test's kubectl. */
    static Proc.Result script(String name, String... args) {
        List<String> command = new ArrayList<>(List.of("bash", Tools.k8sDir().resolve("scripts").resolve(name).toString()));
        command.addAll(List.of(args));
        Map<String, String> env = Map.of("KUBECTL", Tools.tool("KUBECTL"),
                "PATH", Path.of(Tools.tool("KUBECTL")).getParent() + ":" + System.getenv("PATH"));
        return Proc.run(command, env, Duration.ofMinutes(2), null);
    }
}
