package io.berth.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.conformance.Containerd;
import io.berth.conformance.Proc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node pull path with the cluster's own pieces: Berth runs as the shipped deployment runs it
 * ({@link RenderedBerth}); containerd trusts it through the README's {@code hosts.toml}, and pulls through the CRI (what the kubelet calls) with the read-only {@code cluster} account, as an imagePullSecret
 * passes it. CI's account pushes; the pull account cannot; a wrong password or a wrong CA is refused.
 */
class NodePullIT {
    @TempDir
    static Path work;

    private static RenderedBerth berth;
    private static Containerd containerd;
    private static String host;
    private static Path secrets;
    private static String digest;

    @BeforeAll
    static void start() throws IOException {
        berth = RenderedBerth.start(work);
        host = berth.host();
        secrets = berth.secrets();
        crane("auth", "login", host, "-u", "ci", "-p", password("ci")).requireSuccess();
        push("team/app:v1.0.0", "node pull path").requireSuccess();
        digest = crane("digest", host + "/team/app:v1.0.0").requireSuccess().output().strip();
        containerd = Containerd.startNode(work.resolve("containerd"));
    }

    @AfterAll
    static void stop() {
        try {
            if (containerd != null) {
                containerd.close();
            }
        } finally {
            if (berth != null) {
                berth.close();
            }
        }
    }

    @BeforeEach
    void trustTheRegistryCa() throws IOException {
        writeHostsToml(secrets.resolve("ca.crt"));
    }

    @Test
    void criPullsByDigestWithTheClusterAccount() {
        Proc.Result pull = containerd.crictl(Duration.ofMinutes(2), "pull", "--creds", "cluster:" + password("cluster"), host + "/team/app@" + digest);
        assertThat(pull.exitCode()).as("crictl pull:%n%s", pull.output()).isZero();
        assertThat(pull.output()).contains("Image is up to date for sha256:");
        Proc.Result inspect = containerd.crictl(Duration.ofMinutes(1), "inspecti", "--output", "json", host + "/team/app@" + digest);
        assertThat(inspect.output()).contains(host + "/team/app@" + digest);
    }

    @Test
    void aTagBeforeTheDigestIsIgnoredByThePull() {
        String ref = host + "/team/app:not-a-real-tag@" + digest;
        Proc.Result pull = containerd.crictl(Duration.ofMinutes(2), "pull", "--creds", "cluster:" + password("cluster"), ref);
        assertThat(pull.exitCode()).as("crictl pull:%n%s", pull.output()).isZero();
    }

    @Test
    void aWrongPasswordIsRefused() {
        Proc.Result pull = containerd.crictl(Duration.ofMinutes(2), "pull", "--creds", "cluster:wrong-password", host + "/team/app@" + digest);
        assertThat(pull.exitCode()).as("crictl pull:%n%s", pull.output()).isNotZero();
        assertThat(pull.output()).contains("401 Unauthorized");
    }

    @Test
    void aCaTheRegistryDoesNotUseIsRefused() throws IOException {
        Path other = work.resolve("other-secrets");
        RenderedBerth.script("bootstrap-secrets.sh", "--host", "127.0.0.1", "--dir", other.toString(), "--dry-run").requireSuccess();
        writeHostsToml(other.resolve("ca.crt"));
        Proc.Result pull = containerd.crictl(Duration.ofMinutes(2), "pull", "--creds", "cluster:" + password("cluster"), host + "/team/app@" + digest);
        assertThat(pull.exitCode()).as("crictl pull:%n%s", pull.output()).isNotZero();
        assertThat(pull.output()).contains("x509: certificate signed by unknown authority");
    }

    @Test
    void thePullAccountCannotPushAndNobodyPushesLatest() throws IOException {
        Path clusterConfig = Files.createDirectories(work.resolve("crane-cluster"));
        Map<String, String> asCluster = Map.of("DOCKER_CONFIG", clusterConfig.toString());
        crane(asCluster, "auth", "login", host, "-u", "cluster", "-p", password("cluster")).requireSuccess();
        Proc.Result push = crane(asCluster, "copy", host + "/team/app@" + digest, host + "/team/app:v9.9.9");
        assertThat(push.exitCode()).as("cluster pushing:%n%s", push.output()).isNotZero();

        Proc.Result latest = push("team/app:latest", "latest");
        assertThat(latest.exitCode()).as("ci pushing latest:%n%s", latest.output()).isNotZero();
        Proc.Result moved = push("team/app:v1.0.0", "another content for a release tag");
        assertThat(moved.exitCode()).as("ci moving an immutable tag:%n%s", moved.output()).isNotZero();
    }

    /** The hosts.toml of k8s/README.md ("The node pull path"), for this registry and {@code ca}. */
    private static void writeHostsToml(Path ca) throws IOException {
        containerd.writeHttpsHost(host, ca);
    }

    private static Proc.Result push(String tag, String content) throws IOException {
        Path dir = Files.createDirectories(work.resolve("layer-" + tag.replaceAll("[^a-z0-9]", "-")));
        Files.writeString(dir.resolve("content.txt"), content);
        Path layer = work.resolve(dir.getFileName() + ".tar");
        Proc.run(List.of("tar", "-C", dir.toString(), "-cf", layer.toString(), "content.txt"), Map.of(), Duration.ofMinutes(1), null).requireSuccess();
        return crane("append", "-f", layer.toString(), "-t", host + "/" + tag);
    }

    private static Proc.Result crane(String... args) {
        return crane(Map.of(), args);
    }

    /** crane trusting the registry's CA (Go reads SSL_CERT_FILE), logged in as ci unless {@code env} says otherwise. */
    private static Proc.Result crane(Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>(List.of(Tools.tool("CRANE")));
        command.addAll(List.of(args));
        Map<String, String> all = new HashMap<>();
        all.put("SSL_CERT_FILE", secrets.resolve("ca.crt").toString());
        all.put("DOCKER_CONFIG", work.resolve("crane-ci").toString());
        all.putAll(env);
        return Proc.run(command, all, Duration.ofMinutes(2), null);
    }

    private static String password(String account) {
        return berth.password(account);
    }
}
