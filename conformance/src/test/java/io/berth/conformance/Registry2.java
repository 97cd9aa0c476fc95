package io.berth.conformance;

import io.berth.testing.RegistryClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Debian's docker-registry 2.8.2 (registry:2) as a peer: {@code serve} on 127.0.0.1 over a given
 * volume, and its own {@code garbage-collect}. The configuration is the minimal registry:2 one, which
 * Berth reads too, so one file drives both.
 */
final class Registry2 implements AutoCloseable {
    private final Process process;
    private final Path log;
    private final String hostAndPort;
    private final Path config;

    private Registry2(Process process, Path log, String hostAndPort, Path config) {
        this.process = process;
        this.log = log;
        this.hostAndPort = hostAndPort;
        this.config = config;
    }

    /**
     * Writes a registry:2 config.yml for {@code root} into {@code dir}: filesystem storage, deletes
     * enabled, no auth, log level warn, listening on 127.0.0.1:{@code port}.
     */
    static Path writeConfig(Path dir, Path root, int port) {
        String yaml = """
                version: 0.1
                log:
                  level: warn
                storage:
                  filesystem:
                    rootdirectory: %s
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:%d
                """.formatted(root.toAbsolutePath(), port);
        try {
            Files.createDirectories(dir);
            Path file = Files.createTempFile(dir, "registry2-", ".yml");
            Files.writeString(file, yaml);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts {@code docker-registry serve} on {@code root} and waits until {@code GET /v2/} answers 200. */
    static Registry2 serve(Path root, Path configDir) {
        return serve(Peers.tool("REGISTRY2"), root, configDir);
    }

    /**
     * Starts {@code binary serve} on {@code root}: registry:2, or distribution v3 ({@link #distributionV3()}), which
     * reads the same configuration.
     */
    static Registry2 serve(String binary, Path root, Path configDir) {
        int port = freePort();
        return start(binary, writeConfig(configDir, root, port), "127.0.0.1:" + port);
    }

    /**
     * registry:2 with its s3-aws driver on {@code bucket} of {@code s3} under {@code root} (redirects off, deletes on),
     * its config written in {@code dir}. {@code AWS_CA_BUNDLE} is unset for it: that driver panics at start with it set.
     */
    static Registry2 onS3(io.berth.testing.S3TestServer s3, String bucket, String root, long chunkSize, Path dir) {
        int port = freePort();
        Path config = dir.resolve("registry2-s3.yml");
        try {
            Files.writeString(config, """
                    version: 0.1
                    log:
                      level: warn
                    storage:
                      s3:
                        region: us-east-1
                        regionendpoint: %s
                        forcepathstyle: true
                        secure: false
                        v4auth: true
                        bucket: %s
                        rootdirectory: /%s
                        accesskey: %s
                        secretkey: %s
                        chunksize: %d
                      delete:
                        enabled: true
                      redirect:
                        disable: true
                    http:
                      addr: 127.0.0.1:%d
                    """.formatted(s3.endpoint(), bucket, root, s3.accessKey(), s3.secretKey(), chunkSize, port));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return serveConfig(config, "127.0.0.1:" + port, "AWS_CA_BUNDLE");
    }

    /**
     * Starts registry:2 on a config.yml the caller wrote (listening on {@code hostAndPort}), without the variables
     * {@code unset} in its environment (registry:2 2.8's s3 driver panics at start when AWS_CA_BUNDLE is set).
     */
    static Registry2 serveConfig(Path config, String hostAndPort, String... unset) {
        return start(Peers.tool("REGISTRY2"), config, hostAndPort, unset);
    }

    private static Registry2 start(String binary, Path config, String hostAndPort, String... unset) {
        Process process;
        Path log;
        try {
            Files.createDirectories(Proc.LOGS);
            log = Files.createTempFile(Proc.LOGS, "docker-registry-serve-", ".log");
            ProcessBuilder pb = new ProcessBuilder(binary, "serve", config.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            for (String name : unset) {
                pb.environment().remove(name);
            }
            process = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Registry2 r = new Registry2(process, log, hostAndPort, config);
        try {
            r.awaitReady(Duration.ofSeconds(30));
        } catch (RuntimeException | Error e) {
            r.close();
            throw e;
        }
        return r;
    }

    /**
     * Runs registry:2's {@code garbage-collect} with {@code flags} (e.g. {@code --dry-run},
     * {@code --delete-untagged}) over the volume {@code config} names; it must exit 0.
     */
    static Proc.Result garbageCollect(Path config, String... flags) {
        List<String> cmd = new ArrayList<>(List.of(Peers.tool("REGISTRY2"), "garbage-collect", config.toString()));
        cmd.addAll(List.of(flags));
        return Proc.ok(cmd, Map.of(), Duration.ofMinutes(2));
    }

    /** The digests after {@code prefix} in a garbage-collect report, e.g. "blob eligible for deletion: ". */
    static List<String> reported(Proc.Result gc, String prefix) {
        return gc.output().lines().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length()).strip()).sorted().toList();
    }

    /** distribution v3's {@code registry}, as scripts/install-bench.sh built it (its bench-env.sh names it). */
    static String distributionV3() {
        Path env = Peers.toolsDir().resolve("bench-env.sh");
        try {
            for (String line : Files.readAllLines(env)) {
                if (line.startsWith("export BENCH_DISTRIBUTION='")) {
                    return line.substring("export BENCH_DISTRIBUTION='".length(), line.length() - 1);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("run scripts/install-bench.sh first", e);
        }
        throw new AssertionError("no BENCH_DISTRIBUTION in " + env);
    }

    String hostAndPort() {
        return hostAndPort;
    }

    URI baseUri() {
        return URI.create("http://" + hostAndPort);
    }

    Path config() {
        return config;
    }

    private void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (RegistryClient client = RegistryClient.builder(baseUri()).timeout(Duration.ofSeconds(2)).build()) {
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new AssertionError("docker-registry exited " + process.exitValue() + ":\n" + logTail());
                }
                try {
                    if (client.get("/v2/").statusCode() == 200) {
                        return;
                    }
                } catch (UncheckedIOException e) {
                    // not listening yet
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
        }
        throw new AssertionError("docker-registry did not answer GET /v2/ with 200 within " + timeout + ":\n" + logTail());
    }

    private String logTail() {
        return Proc.tailOf(log);
    }

    /** Stops the registry and waits for it to exit. */
    @Override
    public void close() {
        Proc.kill(process);
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
