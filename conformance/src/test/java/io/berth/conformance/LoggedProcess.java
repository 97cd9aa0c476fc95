package io.berth.conformance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A registry run as its own process, every byte it writes to stdout and stderr kept in one file, as a log collector
 * would see it: Berth from the built jar ({@link #berth}), or registry:2 ({@link #registry2}).
 */
final class LoggedProcess implements AutoCloseable {
    private final Process process;
    private final Path log;

    private LoggedProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** {@code java -jar registry-server/target/berth-server.jar serve config}, with {@code env} added, listening on {@code port}. */
    static LoggedProcess berth(Path config, Map<String, String> env, int port, Path log) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", HostileBerth.REPO_ROOT.resolve("registry-server/target/berth-server.jar").toString(), "serve", config.toString()));
        return start(command, env, port, log);
    }

    /** registry:2 (Debian's {@code docker-registry}, 2.8.2) serving {@code config}, listening on {@code port}. */
    static LoggedProcess registry2(Path config, int port, Path log) {
        return start(List.of(Peers.tool("REGISTRY2"), "serve", config.toString()), Map.of(), port, log);
    }

    private static LoggedProcess start(List<String> command, Map<String, String> env, int port, Path log) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        LoggedProcess p;
        try {
            p = new LoggedProcess(pb.start(), log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            p.awaitListening(port);
        } catch (RuntimeException | Error e) {
            p.close();
            throw e;
        }
        return p;
    }

    private void awaitListening(int port) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError(command() + " exited " + process.exitValue() + ":\n" + Proc.tailOf(log));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return;
            } catch (IOException e) {
                // not listening yet
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new AssertionError(command() + " is not listening on " + port + ":\n" + Proc.tailOf(log));
    }

    private String command() {
        return process.info().command().orElse("the process");
    }

    /** Stops the process (so its log is complete) and returns every line it wrote. */
    List<String> stopAndReadLines() {
        close();
        try {
            return Files.readAllLines(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        Proc.kill(process);
    }
}
