package io.berth.conformance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * A long-running peer (dockerd, containerd) started for one test class. Its output goes to a log in
 * {@link Proc#LOGS}; {@link #close()} sends SIGTERM to it (and to the pid in its pidfile, should that be a
 * child of it), waits, and only then kills what is left of it and of the children it had. Shared with the k8s
 * module's tests (etcd, kube-apiserver, dockerd, containerd there) through this module's test-jar.
 */
public final class Daemon implements AutoCloseable {
    private static final Duration POLL = Duration.ofMillis(200);

    private static final Duration STOP_GRACE = Duration.ofSeconds(30);

    private final String name;
    private final Process process;
    private final Path log;
    private final @Nullable Path pidFile;

    private Daemon(String name, Process process, Path log, @Nullable Path pidFile) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.pidFile = pidFile;
    }

    /**
     * Starts {@code command} and polls {@code ready} until it answers true; a daemon that dies or is not ready
     * within {@code timeout} is stopped and the start fails with the tail of its log.
     */
    public static Daemon start(List<String> command, Map<String, String> env, @Nullable Path pidFile, Duration timeout, BooleanSupplier ready) {
        return start(command, env, pidFile, timeout, POLL, ready);
    }

    /** {@link #start(List, Map, Path, Duration, BooleanSupplier)} with no pidfile, polling {@code ready} every 250 ms. */
    public static Daemon start(List<String> command, Map<String, String> env, Duration timeout, BooleanSupplier ready) {
        return start(command, env, null, timeout, Duration.ofMillis(250), ready);
    }

    private static Daemon start(List<String> command, Map<String, String> env, @Nullable Path pidFile, Duration timeout, Duration poll,
            BooleanSupplier ready) {
        String name = Path.of(command.get(0)).getFileName().toString();
        Daemon d;
        try {
            Files.createDirectories(Proc.LOGS);
            Path log = Files.createTempFile(Proc.LOGS, name + "-daemon-", ".log");
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().putAll(env);
            d = new Daemon(name, pb.start(), log, pidFile);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            d.awaitReady(timeout, poll, ready);
            return d;
        } catch (RuntimeException | Error e) {
            d.close();
            throw e;
        }
    }

    private void awaitReady(Duration timeout, Duration poll, BooleanSupplier ready) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new AssertionError(name + " exited " + process.exitValue() + " before it was ready:\n" + logTail());
            }
            if (ready.getAsBoolean()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(name + " was not ready after " + timeout + ":\n" + logTail());
            }
            sleep(poll);
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public String logTail() {
        return Proc.tailOf(log);
    }

    /**
     * The output of {@code r}, a run of {@code command} against {@code daemon}; when it exited non-zero, fails the test
     * with the output and the tail of the daemon's log (none when it has not been started).
     */
    static String requireSuccess(Proc.Result r, String command, String daemonName, @Nullable Daemon daemon) {
        if (r.exitCode() != 0) {
            throw new AssertionError("`" + command + "` exited " + r.exitCode() + ":\n" + Proc.tail(r.output())
                    + "\n" + daemonName + "'s log:\n" + (daemon == null ? "" : daemon.logTail()));
        }
        return r.output();
    }

    /** Stops {@code daemon} (when it was started), then deletes {@code shortDir}, the directory of its socket. */
    static void stop(@Nullable Daemon daemon, Path shortDir) {
        try {
            if (daemon != null) {
                daemon.close();
            }
        } finally {
            deleteTree(shortDir);
        }
    }

    /**
     * Closes what a test class started, in the order given and skipping what is null (never started): each is closed
     * even when one before it fails, and the first failure is thrown, with any later ones suppressed.
     */
    public static void closeAll(@Nullable AutoCloseable... started) {
        Throwable first = null;
        for (AutoCloseable c : started) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Throwable t) {
                if (t instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                if (first == null) {
                    first = t;
                } else {
                    first.addSuppressed(t);
                }
            }
        }
        if (first instanceof RuntimeException e) {
            throw e;
        }
        if (first instanceof Error e) {
            throw e;
        }
        if (first != null) {
            throw new IllegalStateException(first);
        }
    }

    /** SIGTERM, a grace period, then SIGKILL for the daemon and every process it had started. */
    @Override
    public void close() {
        List<ProcessHandle> family = new ArrayList<>(process.descendants().toList());
        ProcessHandle self = process.toHandle();
        // The pidfile names the daemon itself (one SIGTERM is enough), or else a child of it; nothing else is signalled.
        if (pidFile != null) {
            fromPidFile(pidFile).filter(p -> p.pid() != self.pid() && family.stream().anyMatch(f -> f.pid() == p.pid()))
                    .ifPresent(ProcessHandle::destroy);
        }
        process.destroy();
        try {
            if (!process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Children it should have stopped on its way out (containerd, shims): give them a moment, then kill.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (family.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
            sleep(Duration.ofMillis(100));
        }
        family.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }

    private static Optional<ProcessHandle> fromPidFile(Path pidFile) {
        try {
            if (!Files.isRegularFile(pidFile)) {
                return Optional.empty();
            }
            return ProcessHandle.of(Long.parseLong(Files.readString(pidFile).strip()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** A new directory directly under /tmp, so that unix socket paths in it stay well under 108 bytes. */
    public static Path shortDirectory(String prefix) {
        try {
            return Files.createTempDirectory(Path.of("/tmp"), prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes a tree; fails loudly when something (a mount a daemon left behind) cannot be deleted. */
    public static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + root, e);
        }
    }

    /** A TCP port on the loopback address that was free a moment ago. */
    public static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
