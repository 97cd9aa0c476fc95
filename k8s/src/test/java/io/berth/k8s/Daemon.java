package io.berth.k8s;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * A long-running program (etcd, kube-apiserver, dockerd) started for the tests. Its output goes to a log in
 * {@link Proc#LOGS}; {@link #close()} sends SIGTERM to it, waits, then kills what is left of it and its children.
 */
final class Daemon implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Path log;

    private Daemon(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /** Starts {@code command} and polls {@code ready}; one that dies or is not ready within {@code timeout} is stopped. */
    static Daemon start(List<String> command, Map<String, String> env, Duration timeout, BooleanSupplier ready) {
        String name = Path.of(command.get(0)).getFileName().toString();
        Daemon d;
        try {
            Files.createDirectories(Proc.LOGS);
            Path log = Files.createTempFile(Proc.LOGS, name + "-daemon-", ".log");
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().putAll(env);
            d = new Daemon(name, pb.start(), log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            d.awaitReady(timeout, ready);
            return d;
        } catch (RuntimeException | Error e) {
            d.close();
            throw e;
        }
    }

    private void awaitReady(Duration timeout, BooleanSupplier ready) {
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
            sleep(Duration.ofMillis(250));
        }
    }

    String logTail() {
        try {
            return Proc.tail(Files.readString(log));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** SIGTERM, a grace period, then SIGKILL for the program and every process it started. */
    @Override
    public void close() {
        List<ProcessHandle> family = new ArrayList<>(process.descendants().toList());
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (family.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
            sleep(Duration.ofMillis(100));
        }
        family.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }

    /** A new directory directly under /tmp, so that unix socket paths in it stay well under 108 bytes. */
    static Path shortDirectory(String prefix) {
        try {
            return Files.createTempDirectory(Path.of("/tmp"), prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes a tree; fails loudly when something cannot be deleted. */
    static void deleteTree(Path root) {
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

    static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
