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
 * A private dockerd (vfs storage, no bridge, no iptables: containers use the host's network) with its data
 * under a test's directory and its socket and exec-root under a short directory in /tmp; the Debian docker CLI
 * is pointed at it. The same flags as the conformance module's client tests.
 */
final class DockerDaemon implements AutoCloseable {
    private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(5);

    private final Path shortDir;
    private final String host;
    private final Map<String, String> env;
    private @Nullable Daemon daemon;

    private DockerDaemon(Path shortDir, Path clientConfig) {
        this.shortDir = shortDir;
        this.host = "unix://" + shortDir.resolve("docker.sock");
        this.env = Map.of("DOCKER_CONFIG", clientConfig.toString());
    }

    static DockerDaemon start(Path work) {
        Path dir = Daemon.shortDirectory("bk8d");
        DockerDaemon docker;
        try {
            docker = new DockerDaemon(dir, Files.createDirectories(work.resolve("docker-client")));
        } catch (IOException e) {
            Daemon.deleteTree(dir);
            throw new UncheckedIOException(e);
        }
        List<String> command = List.of(Tools.tool("DOCKERD"),
                "--storage-driver=vfs", "--iptables=false", "--ip6tables=false", "--bridge=none",
                "--data-root", work.resolve("docker-data").toString(),
                "--exec-root", dir.resolve("exec").toString(),
                "-H", docker.host,
                "--pidfile", dir.resolve("docker.pid").toString());
        try {
            docker.daemon = Daemon.start(command, Map.of(), Duration.ofMinutes(1),
                    () -> Files.exists(dir.resolve("docker.sock")) && docker.run(Duration.ofSeconds(20), "info").exitCode() == 0);
        } catch (RuntimeException | Error e) {
            Daemon.deleteTree(dir);
            throw e;
        }
        return docker;
    }

    Proc.Result run(Duration timeout, String... args) {
        List<String> command = new ArrayList<>(List.of(Tools.tool("DOCKER"), "-H", host));
        command.addAll(List.of(args));
        return Proc.run(command, env, timeout, null);
    }

    /** Runs {@code docker args…}, failing the test with its output and dockerd's log when it exits non-zero. */
    String ok(String... args) {
        Proc.Result r = run(COMMAND_TIMEOUT, args);
        if (r.exitCode() != 0) {
            throw new AssertionError("`docker " + String.join(" ", args) + "` exited " + r.exitCode() + ":\n" + Proc.tail(r.output())
                    + "\ndockerd's log:\n" + (daemon == null ? "" : daemon.logTail()));
        }
        return r.output();
    }

    /**
     * Stops dockerd with SIGTERM and removes the socket directory. A host-network container makes dockerd
     * bind-mount the host's network namespace at exec-root/netns/default, which it leaves mounted: unmount it.
     */
    @Override
    public void close() {
        try {
            if (daemon != null) {
                daemon.close();
            }
        } finally {
            Path netns = shortDir.resolve("exec/netns/default");
            if (Files.exists(netns)) {
                Proc.run(List.of("umount", netns.toString()), Map.of(), Duration.ofSeconds(30), null);
            }
            Daemon.deleteTree(shortDir);
        }
    }
}
