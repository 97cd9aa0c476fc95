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
 * One registry client program run with a private home: HOME, DOCKER_CONFIG, the XDG directories, TMPDIR and
 * REGCTL_CONFIG all point under a test's temporary directory, so no run reads or writes the user's ~; plus, where a
 * test needs it, environment of its own (the CA to trust, an auth file), leading arguments (global flags) and, for
 * {@code login --password-stdin}, standard input. Unlike {@link Proc}, stdout is kept apart from stderr, because
 * manifests are compared byte for byte; both are logged under {@link Proc#LOGS} (stdin, a password, is not).
 */
final class PeerCli {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    /**
     * A finished run.
     *
     * @param command the command line
     * @param exitCode the exit code
     * @param stdout standard output, raw
     * @param stderr standard error
     */
    record Out(List<String> command, int exitCode, byte[] stdout, String stderr) {
        String text() {
            return new String(stdout, StandardCharsets.UTF_8);
        }

        Out requireSuccess() {
            if (exitCode != 0) {
                throw new AssertionError("`" + String.join(" ", command) + "` exited " + exitCode + ":\n"
                        + Proc.tail(text()) + "\n" + Proc.tail(stderr));
            }
            return this;
        }
    }

    private final List<String> prefix;
    private final Map<String, String> env;

    private PeerCli(List<String> prefix, Map<String, String> env) {
        this.prefix = List.copyOf(prefix);
        this.env = Map.copyOf(env);
    }

    /** The peer {@code BERTH_<name>} (see {@link Peers#tool}) with its home under {@code home}. */
    static PeerCli of(String peer, Path home) {
        return of(peer, home, Map.of());
    }

    /** The peer {@code BERTH_<peer>} with its home under {@code home}, and {@code extraEnv} on top. */
    static PeerCli of(String peer, Path home, Map<String, String> extraEnv) {
        Map<String, String> all = new HashMap<>(privateEnv(home));
        all.putAll(extraEnv);
        return new PeerCli(List.of(Peers.tool(peer)), all);
    }

    /** {@code command…} (a program and leading arguments, such as docker's {@code -H}) with exactly {@code env} added. */
    static PeerCli command(List<String> command, Map<String, String> env) {
        return new PeerCli(command, env);
    }

    /** The same program with further leading arguments (global flags). */
    PeerCli withArgs(String... args) {
        List<String> all = new ArrayList<>(prefix);
        all.addAll(List.of(args));
        return new PeerCli(all, env);
    }

    /** Environment variables that keep a client's configuration, caches and temporary files under {@code home}. */
    private static Map<String, String> privateEnv(Path home) {
        try {
            Map<String, String> env = new HashMap<>();
            env.put("HOME", dir(home).toString());
            env.put("DOCKER_CONFIG", dir(home.resolve(".docker")).toString());
            env.put("XDG_CONFIG_HOME", dir(home.resolve(".config")).toString());
            env.put("XDG_CACHE_HOME", dir(home.resolve(".cache")).toString());
            env.put("XDG_DATA_HOME", dir(home.resolve(".local/share")).toString());
            env.put("XDG_RUNTIME_DIR", dir(home.resolve("run")).toString());
            env.put("TMPDIR", dir(home.resolve("tmp")).toString());
            env.put("REGCTL_CONFIG", home.resolve(".regctl/config.json").toString());
            // The registry is on loopback; a proxy from the environment must not get in the way.
            env.put("NO_PROXY", "127.0.0.1,localhost");
            env.put("no_proxy", "127.0.0.1,localhost");
            return env;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path dir(Path p) throws IOException {
        return Files.createDirectories(p);
    }

    /** Runs the program with {@code args} in {@code workDir} (null: the current directory), with no input (/dev/null). */
    Out runIn(@Nullable Path workDir, List<String> args) {
        return execute(workDir, null, args);
    }

    /** Runs to completion with {@code stdin} written to its standard input, which is then closed; whatever the exit code. */
    Out runWithInput(String stdin, String... args) {
        return execute(null, stdin, List.of(args));
    }

    private Out execute(@Nullable Path workDir, @Nullable String stdin, List<String> args) {
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
            if (workDir != null) {
                pb.directory(workDir.toFile());
            }
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
            return new Out(List.copyOf(command), p.exitValue(), Files.readAllBytes(out), Files.readString(err));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Runs to completion with no input (/dev/null), whatever the exit code. */
    Out run(String... args) {
        return runIn(null, List.of(args));
    }

    /** Runs and requires exit code 0; returns the run. */
    Out ok(String... args) {
        return run(args).requireSuccess();
    }

    /** Runs and requires exit code 0; returns stdout as text, trimmed. */
    String text(String... args) {
        return ok(args).text().strip();
    }

    /** Runs and requires exit code 0; returns stdout, raw. */
    byte[] bytes(String... args) {
        return ok(args).stdout();
    }

    /** Runs and requires a non-zero exit code; returns stdout and stderr together, for checking the reason. */
    String fails(String... args) {
        Out r = run(args);
        if (r.exitCode() == 0) {
            throw new AssertionError("`" + String.join(" ", r.command()) + "` succeeded but should have been refused:\n"
                    + Proc.tail(r.text()) + "\n" + Proc.tail(r.stderr()));
        }
        return r.text() + "\n" + r.stderr();
    }
}
