package io.berth.conformance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a peer program to completion, with a timeout, keeping its output in a log file for the report. */
final class Proc {
    static final Path LOGS = Path.of("target", "peer-logs");

    /**
     * A finished run.
     *
     * @param exitCode the exit code
     * @param output stdout and stderr, interleaved
     */
    record Result(int exitCode, String output) {
        Result requireSuccess(List<String> command) {
            if (exitCode != 0) {
                throw new AssertionError("`" + String.join(" ", command) + "` exited " + exitCode + ":\n" + tail(output));
            }
            return this;
        }
    }

    private Proc() {}

    static Result run(List<String> command, Map<String, String> env, Duration timeout) {
        return run(command, env, timeout, null);
    }

    static Result run(List<String> command, Map<String, String> env, Duration timeout, Path workDir) {
        try {
            Files.createDirectories(LOGS);
            Path log = Files.createTempFile(LOGS, Path.of(command.get(0)).getFileName() + "-", ".log");
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().putAll(env);
            if (workDir != null) {
                pb.directory(workDir.toFile());
            }
            Process p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(p);
                throw new AssertionError("`" + String.join(" ", command) + "` timed out after " + timeout + ":\n" + tail(Files.readString(log)));
            }
            return new Result(p.exitValue(), Files.readString(log));
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

    /** The tail of a log file, for failure messages. */
    static String tailOf(Path log) {
        try {
            return tail(Files.readString(log));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    static String tail(String s) {
        return s.length() <= 4000 ? s : "…" + s.substring(s.length() - 4000);
    }
}
