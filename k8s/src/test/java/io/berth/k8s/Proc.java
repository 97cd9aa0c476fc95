package io.berth.k8s;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/** Runs a program to completion, with a timeout and optional standard input, keeping its output in a log file. */
final class Proc {
    static final Path LOGS = Path.of("target", "peer-logs");

    /**
     * A finished run.
     *
     * @param command what ran
     * @param exitCode the exit code
     * @param output stdout and stderr, interleaved
     */
    record Result(List<String> command, int exitCode, String output) {
        Result requireSuccess() {
            if (exitCode != 0) {
                throw new AssertionError("`" + String.join(" ", command) + "` exited " + exitCode + ":\n" + tail(output));
            }
            return this;
        }
    }

    private Proc() {}

    static Result run(List<String> command, Map<String, String> env, Duration timeout, @Nullable String stdin) {
        try {
            Files.createDirectories(LOGS);
            Path log = Files.createTempFile(LOGS, Path.of(command.get(0)).getFileName() + "-", ".log");
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().putAll(env);
            if (stdin == null) {
                pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            }
            Process p = pb.start();
            if (stdin != null) {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(p);
                throw new AssertionError("`" + String.join(" ", command) + "` timed out after " + timeout + ":\n" + tail(Files.readString(log)));
            }
            return new Result(command, p.exitValue(), Files.readString(log));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Stops a process and everything it started. */
    static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroy);
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String tail(String s) {
        return s.length() <= 4000 ? s : "…" + s.substring(s.length() - 4000);
    }
}
