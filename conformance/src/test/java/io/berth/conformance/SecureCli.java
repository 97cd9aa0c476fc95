package io.berth.conformance;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A registry client run against the secure registry: a private home as {@link PeerCli} gives it, plus environment
 * of its own (the CA to trust, an auth file) and, for {@code login --password-stdin}, standard input. stdout and
 * stderr are kept apart; both are logged under {@link Proc#LOGS} (stdin, a password, is not).
 */
final class SecureCli {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    private final List<String> prefix;
    private final Map<String, String> env;

    private SecureCli(List<String> prefix, Map<String, String> env) {
        this.prefix = List.copyOf(prefix);
        this.env = Map.copyOf(env);
    }

    /** The peer {@code BERTH_<peer>} with its home under {@code home}, and {@code extraEnv} on top. */
    static SecureCli of(String peer, Path home, Map<String, String> extraEnv) {
        Map<String, String> all = new HashMap<>(PeerCli.privateEnv(home));
        all.putAll(extraEnv);
        return new SecureCli(List.of(Peers.tool(peer)), all);
    }

    /** {@code command…} (a program and leading arguments, such as docker's {@code -H}) with exactly {@code env} added. */
    static SecureCli command(List<String> command, Map<String, String> env) {
        return new SecureCli(command, env);
    }

    /** The same program with further leading arguments (global flags). */
    SecureCli withArgs(String... args) {
        List<String> all = new ArrayList<>(prefix);
        all.addAll(List.of(args));
        return new SecureCli(all, env);
    }

    /** Runs to completion with no input (/dev/null), whatever the exit code. */
    PeerCli.Out run(String... args) {
        return execute(null, List.of(args));
    }

    /** Runs to completion with {@code stdin} written to its standard input, which is then closed; whatever the exit code. */
    PeerCli.Out runWithInput(String stdin, String... args) {
        return execute(stdin, List.of(args));
    }

    private PeerCli.Out execute(@Nullable String stdin, List<String> args) {
        List<String> command = new ArrayList<>(prefix);
        command.addAll(args);
        try {
            Files.createDirectories(Proc.LOGS);
            String name = Path.of(command.get(0)).getFileName() + "-";
            Path out = Files.createTempFile(Proc.LOGS, name, ".out");
            Path err = Files.createTempFile(Proc.LOGS, name, ".err");
            Files.writeString(err, "$ " + String.join(" ", command) + "\n");
            ProcessBuilder pb = new ProcessBuilder(command)
                    .redirectOutput(out.toFile())
                    .redirectError(ProcessBuilder.Redirect.appendTo(err.toFile()));
            if (stdin == null) {
                pb.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            }
            pb.environment().putAll(env);
            Process p = pb.start();
            if (stdin != null) {
                try (OutputStream in = p.getOutputStream()) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    // It exited without reading its input; its exit code and output tell why.
                }
            }
            if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                Proc.kill(p);
                throw new AssertionError("`" + String.join(" ", command) + "` timed out after " + TIMEOUT + ":\n"
                        + Proc.tail(Files.readString(err)));
            }
            return new PeerCli.Out(List.copyOf(command), p.exitValue(), Files.readAllBytes(out), Files.readString(err));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Runs and requires exit code 0. */
    PeerCli.Out ok(String... args) {
        return run(args).requireSuccess();
    }

    /** Runs and requires exit code 0; returns stdout, trimmed. */
    String text(String... args) {
        return ok(args).text().strip();
    }

    /** Runs and requires a non-zero exit code; returns stdout and stderr together, for checking the reason. */
    String fails(String... args) {
        PeerCli.Out r = run(args);
        if (r.exitCode() == 0) {
            throw new AssertionError("`" + String.join(" ", r.command()) + "` succeeded but should have been refused:\n"
                    + Proc.tail(r.text()) + "\n" + Proc.tail(r.stderr()));
        }
        return r.text() + "\n" + r.stderr();
    }
}
