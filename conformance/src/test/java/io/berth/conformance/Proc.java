package io.berth.conformance;

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

/**
 * Runs a peer program to completion, with a timeout, keeping its output in a log file for the report. Shared with
 * the k8s module's tests (through this module's test-jar).
 */
public final class Proc {
    public static final Path LOGS = Path.of("target", "peer-logs");

    /**
     * A finished run.
     *
     * @param command what ran
     * @param exitCode the exit code
     * @param output stdout and stderr, interleaved
     */
    public record Result(List<String> command, int exitCode, String output) {
        public Result requireSuccess(List<String> command) {
            if (exitCode != 0) {
                throw new AssertionError("`" + String.join(" ", command) + "` exited " + exitCode + ":\n" + tail(output));
            }
            return this;
        }

        /** {@link #requireSuccess(List)} for the command that ran. */
        public Result requireSuccess() {
            return requireSuccess(command);
        }
    }

    private Proc() {}

    public static Result run(List<String> command, Map<String, String> env, Duration timeout) {
        return runIn(command, env, timeout, null);
    }

    static Result runIn(List<String> command, Map<String, String> env, Duration timeout, @Nullable Path workDir) {
        return run(command, env, timeout, workDir, false, null);
    }

    /**
     * Runs {@code command} with {@code stdin} as its standard input, or with /dev/null there when {@code stdin} is
     * null (so that a program that reads it sees its end at once).
     */
    public static Result run(List<String> command, Map<String, String> env, Duration timeout, @Nullable String stdin) {
        return run(command, env, timeout, null, stdin == null, stdin);
    }

    private static Result run(List<String> command, Map<String, String> env, Duration timeout, @Nullable Path workDir,
            boolean devNullIn, @Nullable String stdin) {
        try {
            Files.createDirectories(LOGS);
            Path log = Files.createTempFile(LOGS, Path.of(command.get(0)).getFileName() + "-", ".log");
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().putAll(env);
            if (workDir != null) {
                pb.directory(workDir.toFile());
            }
            if (devNullIn) {
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

    static Result ok(List<String> command, Map<String, String> env, Duration timeout) {
        return run(command, env, timeout).requireSuccess(command);
    }

    /** Stops a process and everything it started. */
    public static void kill(Process p) {
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

    /** The tail of a log file, for failure messages. */
    public static String tailOf(Path log) {
        try {
            return tail(Files.readString(log));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    public static String tail(String s) {
        return s.length() <= 4000 ? s : "…" + s.substring(s.length() - 4000);
    }
}
