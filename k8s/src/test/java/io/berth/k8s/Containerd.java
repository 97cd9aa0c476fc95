package io.berth.k8s;

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
 * A private containerd with its CRI plugin, as a node runs it: root and config under a test's directory, socket and
 * state under a short directory in /tmp, registries configured by {@code certs.d/<host>/hosts.toml}
 * ({@link #certsDir()}); {@code crictl} makes the kubelet's CRI calls to it.
 */
final class Containerd implements AutoCloseable {
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

    static Containerd start(Path work) {
        Path dir = Daemon.shortDirectory("bk8c");
        Containerd c;
        Path config;
        try {
            c = new Containerd(dir, work.resolve("crictl.yaml"), Files.createDirectories(work.resolve("certs.d")));
            Path cniBin = Files.createDirectories(work.resolve("cni/bin"));
            Path cniConf = Files.createDirectories(work.resolve("cni/conf"));
            config = Files.writeString(work.resolve("config.toml"), """
                    version = 2
                    disabled_plugins = ["io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
                                        "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs"]

                    [plugins."io.containerd.internal.v1.opt"]
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
                    """.formatted(work.resolve("opt"), cniBin, cniConf, c.certs));
            Files.writeString(c.crictlConfig, "runtime-endpoint: unix://" + c.socket + "\nimage-endpoint: unix://" + c.socket + "\ntimeout: 60\n");
        } catch (IOException e) {
            Daemon.deleteTree(dir);
            throw new UncheckedIOException(e);
        }
        List<String> command = List.of(Tools.tool("CONTAINERD"), "--config", config.toString(),
                "--root", work.resolve("root").toString(), "--state", dir.resolve("state").toString(), "--address", c.socket.toString());
        try {
            c.daemon = Daemon.start(command, Map.of(), Duration.ofMinutes(1),
                    () -> Files.exists(c.socket) && c.crictl(Duration.ofSeconds(20), "images").exitCode() == 0);
        } catch (RuntimeException | Error e) {
            Daemon.deleteTree(dir);
            throw e;
        }
        return c;
    }

    /** containerd's {@code config_path}: one {@code <host>/hosts.toml} per registry, read at every pull. */
    Path certsDir() {
        return certs;
    }

    Proc.Result crictl(Duration timeout, String... args) {
        List<String> command = new ArrayList<>(List.of(Tools.tool("CRICTL"), "--config", crictlConfig.toString()));
        command.addAll(List.of(args));
        return Proc.run(command, Map.of(), timeout, null);
    }

    @Override
    public void close() {
        try {
            if (daemon != null) {
                daemon.close();
            }
        } finally {
            Daemon.deleteTree(shortDir);
        }
    }
}
