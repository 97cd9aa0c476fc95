package io.berth.conformance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A private dockerd (vfs storage, no bridge, no iptables) with its data under a test's directory and its
 * socket, exec-root and pidfile under a short directory in /tmp, and the Debian docker CLI pointed at it.
 * Docker treats 127.0.0.0/8 as an insecure registry, so it talks plain HTTP to a local Berth. Shared with the k8s
 * module's tests through this module's test-jar.
 *
 * <p>Not Testcontainers: this class starts the engine itself, which Testcontainers needs already running, and the
 * tests that use it test the docker CLI as a user runs it ({@code docker push}, {@code pull}, {@code run} with
 * {@code certs.d} and {@code docker login}); Testcontainers would speak the Engine API with its own client instead.
 * Tests that only need a container started from a local image use Testcontainers on this daemon's socket.
 */
public final class DockerDaemon implements AutoCloseable {
    private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(3);

    private final Duration commandTimeout;
    private final Path shortDir;
    private final String host;
    private final Map<String, String> env;
    private @Nullable Daemon daemon;

    private DockerDaemon(Path shortDir, Path clientConfig, Duration commandTimeout) {
        this.commandTimeout = commandTimeout;
        this.shortDir = shortDir;
        this.host = "unix://" + shortDir.resolve("docker.sock");
        this.env = Map.of("DOCKER_CONFIG", clientConfig.toString());
    }

    /** Starts dockerd with its data root in {@code work} and waits until {@code docker info} answers. */
    public static DockerDaemon start(Path work) {
        return start(work, COMMAND_TIMEOUT);
    }

    /** {@link #start(Path)}, with {@code commandTimeout} as the time {@link #ok} gives each docker command. */
    public static DockerDaemon start(Path work, Duration commandTimeout) {
        return start(work, commandTimeout, List.of());
    }

    /** {@link #start(Path, Duration)}, with {@code extraArgs} added to dockerd's command line (e.g. {@code --registry-mirror}). */
    public static DockerDaemon start(Path work, Duration commandTimeout, List<String> extraArgs) {
        Path dir = Daemon.shortDirectory("bdk");
        DockerDaemon docker;
        try {
            docker = new DockerDaemon(dir, Files.createDirectories(work.resolve("docker-client")), commandTimeout);
        } catch (IOException e) {
            Daemon.deleteTree(dir);
            throw new UncheckedIOException(e);
        }
        Path pidFile = dir.resolve("docker.pid");
        List<String> command = new ArrayList<>(List.of(Peers.tool("DOCKERD"),
                "--storage-driver=vfs", "--iptables=false", "--ip6tables=false", "--bridge=none",
                "--data-root", work.resolve("docker-data").toString(),
                "--exec-root", dir.resolve("exec").toString(),
                "-H", docker.host,
                "--pidfile", pidFile.toString()));
        command.addAll(extraArgs);
        try {
            docker.daemon = Daemon.start(command, Map.of(), pidFile, Duration.ofMinutes(1),
                    () -> Files.exists(dir.resolve("docker.sock")) && docker.run(Duration.ofSeconds(20), "info").exitCode() == 0);
        } catch (RuntimeException | Error e) {
            Daemon.deleteTree(dir);
            throw e;
        }
        return docker;
    }

    /** The daemon's socket as a {@code DOCKER_HOST} value ({@code unix:///…/docker.sock}), for Docker API clients. */
    public String host() {
        return host;
    }

    /** Runs {@code docker -H <socket> args…} to completion, whatever its exit code. */
    public Proc.Result run(Duration timeout, String... args) {
        return run(Map.of(), timeout, args);
    }

    public Proc.Result run(Map<String, String> extraEnv, Duration timeout, String... args) {
        List<String> command = new ArrayList<>(List.of(Peers.tool("DOCKER"), "-H", host));
        command.addAll(List.of(args));
        Map<String, String> all = new HashMap<>(env);
        all.putAll(extraEnv);
        return Proc.run(command, all, timeout);
    }

    /**
     * The docker CLI pointed at this daemon ({@code docker -H <socket>}) with its client configuration, as a
     * {@link PeerCli}: stdout and stderr apart, and standard input for {@code login --password-stdin}.
     */
    PeerCli cli() {
        return PeerCli.command(List.of(Peers.tool("DOCKER"), "-H", host), env);
    }

    /**
     * Builds {@code tag} offline and returns its base image: the busybox root file system imported as
     * {@code berth-it/busybox:base}, plus a second layer from the legacy builder, out of a context under {@code work}.
     */
    String buildOffline(Path work, String tag) throws IOException {
        String base = "berth-it/busybox:base";
        ok("import", TestImages.busyboxRootfs(Files.createDirectories(work.resolve("busybox"))).toString(), base);
        Path context = Files.createDirectories(work.resolve("context"));
        Files.writeString(context.resolve("somefile"), "a second layer, built offline\n");
        Files.writeString(context.resolve("Dockerfile"), "FROM " + base + "\nCOPY somefile /\n");
        ok(Map.of("DOCKER_BUILDKIT", "0"), "build", "-t", tag, context.toString());
        return base;
    }

    /** Runs {@code docker args…}, failing the test (with its output) when it exits non-zero; returns the output. */
    public String ok(String... args) {
        return ok(Map.of(), args);
    }

    public String ok(Map<String, String> extraEnv, String... args) {
        return Daemon.requireSuccess(run(extraEnv, commandTimeout, args), "docker " + String.join(" ", args), "dockerd", daemon);
    }

    /**
     * Stops dockerd with SIGTERM (it stops its containerd on the way out) and removes the socket directory. A
     * host-network container makes dockerd bind-mount the host's network namespace at exec-root/netns/default, which
     * it leaves mounted: that is unmounted first.
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
                Proc.run(List.of("umount", netns.toString()), Map.of(), Duration.ofSeconds(30));
            }
            Daemon.deleteTree(shortDir);
        }
    }
}
