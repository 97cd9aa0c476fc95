package io.berth.conformance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A private containerd with its CRI plugin: root, config, certs.d and CNI directories under a test's directory,
 * socket and state under a short directory in /tmp. Its certs.d sends one registry (a live Berth) to plain
 * HTTP, as a cluster does for an in-cluster registry; {@code ctr} and {@code crictl} talk to it. Shared with the
 * k8s module's tests ({@link #startNode}) through this module's test-jar.
 */
public final class Containerd implements AutoCloseable {
    static final String NAMESPACE = "berth";
    private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(3);

    private final Path shortDir;
    private final Path socket;
    private final Path crictlConfig;
    private final Path certs;
    private @Nullable Daemon daemon;

    private Containerd(Path shortDir, Path crictlConfig, Path certs) {
        this.shortDir = shortDir;
        this.socket = shortDir.resolve("c.sock");
        this.crictlConfig = crictlConfig;
        this.certs = certs;
    }

    /** Starts containerd with {@code registry} ({@code host:port}) configured as a plain-HTTP registry. */
    static Containerd start(Path work, String registry) {
        return start(work, "bct", registry, 30);
    }

    /**
     * Starts containerd as a node runs it: no registry configured up front (write {@code <host>/hosts.toml} files
     * into {@link #certsDir()}, read at every pull), content shared between namespaces, and a 60 s crictl timeout.
     */
    public static Containerd startNode(Path work) {
        return start(work, "bk8c", null, 60);
    }

    private static Containerd start(Path work, String prefix, @Nullable String registry, int crictlTimeoutSeconds) {
        Path dir = Daemon.shortDirectory(prefix);
        Containerd c;
        Path config;
        try {
            c = new Containerd(dir, work.resolve("crictl.yaml"), Files.createDirectories(work.resolve("certs.d")));
            config = writeConfig(work, c.certs, registry);
            Files.writeString(c.crictlConfig, "runtime-endpoint: unix://" + c.socket + "\nimage-endpoint: unix://" + c.socket
                    + "\ntimeout: " + crictlTimeoutSeconds + "\n");
        } catch (IOException e) {
            Daemon.deleteTree(dir);
            throw new UncheckedIOException(e);
        }
        List<String> command = List.of(Peers.tool("CONTAINERD"), "--config", config.toString(),
                "--root", work.resolve("root").toString(), "--state", dir.resolve("state").toString(), "--address", c.socket.toString());
        try {
            c.daemon = registry == null
                    ? Daemon.start(command, Map.of(), Duration.ofMinutes(1),
                            () -> Files.exists(c.socket) && c.crictl(Duration.ofSeconds(20), "images").exitCode() == 0)
                    : Daemon.start(command, Map.of(), null, Duration.ofMinutes(1),
                            () -> Files.exists(c.socket) && c.ctr(Duration.ofSeconds(20), "version").exitCode() == 0
                                    && c.crictl(Duration.ofSeconds(20), "images").exitCode() == 0);
        } catch (RuntimeException | Error e) {
            Daemon.deleteTree(dir);
            throw e;
        }
        return c;
    }

    /**
     * Writes config.toml. With a {@code registry}, certs.d sends it to plain HTTP and each namespace keeps its own
     * content; without one (a node), nothing is configured up front and content is shared.
     */
    private static Path writeConfig(Path work, Path certs, @Nullable String registry) throws IOException {
        Path cniBin = Files.createDirectories(work.resolve("cni/bin"));
        Path cniConf = Files.createDirectories(work.resolve("cni/conf"));
        String isolation = "";
        if (registry != null) {
            Files.writeString(Files.createDirectories(certs.resolve(registry)).resolve("hosts.toml"), """
                    server = "http://%1$s"

                    [host."http://%1$s"]
                      capabilities = ["pull", "resolve"]
                    """.formatted(registry));
            isolation = """
                    # Each namespace (ctr's "berth", the CRI's "k8s.io") fetches every blob itself, so one test's
                    # pull never finds content another test's pull left behind.
                    [plugins."io.containerd.metadata.v1.bolt"]
                      content_sharing_policy = "isolated"

                    """;
        }
        return Files.writeString(work.resolve("config.toml"), """
                version = 2
                disabled_plugins = ["io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
                                    "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs"]

                %s[plugins."io.containerd.internal.v1.opt"]
                  path = "%s"

                [plugins."io.containerd.grpc.v1.cri"]
                  disable_tcp_service = true
                  stream_server_address = "127.0.0.1"
                  stream_server_port = "0"

                  [plugins."io.containerd.grpc.v1.cri".cni]
                    bin_dir = "%s"
                    conf_dir = "%s"

                  [plugins."io.containerd.grpc.v1.cri".registry]
                    config_path = "%s"
                """.formatted(isolation, work.resolve("opt"), cniBin, cniConf, certs));
    }

    /** containerd's {@code config_path}: one {@code <host>/hosts.toml} per registry, read at every pull. */
    public Path certsDir() {
        return certs;
    }

    /**
     * Sends {@code host} to HTTPS, trusting {@code ca}: writes its {@code hosts.toml} in {@link #certsDir()}, read at the
     * next pull. containerd 1.6 needs the {@code [host]} table: a hosts.toml with only {@code server} fails to parse
     * ("invalid `host` tree"), is ignored, and a loopback registry is then spoken to in plain HTTP. The host entry's
     * {@code ca} is the one used; the top-level {@code ca} belongs to the {@code server} entry, which containerd tries
     * after the host entries fail.
     */
    public void writeHttpsHost(String host, Path ca) throws IOException {
        Path dir = Files.createDirectories(certs.resolve(host));
        Files.writeString(dir.resolve("hosts.toml"), """
                server = "https://%1$s"
                ca = "%2$s"

                [host."https://%1$s"]
                  capabilities = ["pull", "resolve"]
                  ca = "%2$s"
                """.formatted(host, ca));
    }

    /** Runs {@code ctr --address <socket> -n berth args…} to completion, whatever its exit code. */
    Proc.Result ctr(Duration timeout, String... args) {
        List<String> command = new ArrayList<>(List.of(Peers.tool("CTR"), "--address", socket.toString(), "-n", NAMESPACE));
        command.addAll(List.of(args));
        return Proc.run(command, Map.of(), timeout);
    }

    /** Runs {@code crictl} (the kubelet's CRI calls, from the command line) against this containerd. */
    public Proc.Result crictl(Duration timeout, String... args) {
        List<String> command = new ArrayList<>(List.of(Peers.tool("CRICTL"), "--config", crictlConfig.toString()));
        command.addAll(List.of(args));
        return Proc.run(command, Map.of(), timeout);
    }

    /** {@link #ctr}, failing the test with the output when it exits non-zero. */
    String ctrOk(String... args) {
        return Daemon.requireSuccess(ctr(COMMAND_TIMEOUT, args), "ctr " + String.join(" ", args), "containerd", daemon);
    }

    /** {@link #crictl}, failing the test with the output when it exits non-zero. */
    String crictlOk(String... args) {
        return Daemon.requireSuccess(crictl(COMMAND_TIMEOUT, args), "crictl " + String.join(" ", args), "containerd", daemon);
    }

    /** Stops containerd with SIGTERM and removes the socket directory. */
    @Override
    public void close() {
        Daemon.stop(daemon, shortDir);
    }
}
