package io.berth.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.berth.testing.HtpasswdFiles;
import io.berth.testing.RegistryClient;
import io.berth.testing.S3TestServer;
import io.berth.testing.TestPki;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Berth on S3 as a user runs it: its own process ({@code java -jar registry-server/target/berth-server.jar serve
 * config.yml}, or {@code -Dberth.jar=...}), with a registry:2 {@code config.yml} whose storage is {@code s3} on a
 * bucket of an {@link S3TestServer}, on 127.0.0.1 and a free port. Several may share one bucket (replicas): each has
 * its own directory, config, port and log. The log is kept in {@link Proc#LOGS}. {@link #close()} stops it with
 * SIGTERM (then SIGKILL); {@link #kill()} is a crash (SIGKILL at once).
 *
 * <pre>{@code
 * try (S3TestServer s3 = S3TestServer.start(work, "registry");
 *      S3Berth a = S3Berth.start(s3, "registry", work.resolve("a"), S3Berth.options().rootDirectory("r2root"));
 *      S3Berth b = S3Berth.start(s3, "registry", work.resolve("b"), S3Berth.options().rootDirectory("r2root"))) {
 *     crane push to a.hostAndPort(), pull from b.hostAndPort() ...
 * }
 * }</pre>
 */
public final class S3Berth implements AutoCloseable {
    static final Path REPO_ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final Process process;
    private final Path log;
    private final Path config;
    private final int port;
    private final int debugPort;
    private final TestPki.@Nullable Ca ca;

    private S3Berth(Process process, Path log, Path config, int port, int debugPort, TestPki.@Nullable Ca ca) {
        this.process = process;
        this.log = log;
        this.config = config;
        this.port = port;
        this.debugPort = debugPort;
        this.ca = ca;
    }

    /** The defaults: no rootdirectory, redirect disabled, the netty client, registry:2's chunk size, plain HTTP, no auth. */
    public static Options options() {
        return new Options();
    }

    /** What differs between the Berths a test starts. Setters return this. */
    public static final class Options {
        private String rootDirectory = "";
        private boolean redirect;
        private String client = "netty";
        private @Nullable Long chunkSize;
        private @Nullable Integer partConcurrency;
        private final List<String> extraYaml = new ArrayList<>();
        private TestPki.@Nullable Ca tls;
        private final Map<String, String> htpasswd = new LinkedHashMap<>();
        private @Nullable URI endpoint;
        private @Nullable String accessKey;
        private @Nullable String secretKey;
        private final List<String> jvmOptions = new ArrayList<>(List.of("-XX:+UseSerialGC", "-Xmx512m"));
        private final Map<String, String> env = new LinkedHashMap<>();
        private Duration startTimeout = Duration.ofSeconds(90);

        private Options() {}

        /** {@code storage.s3.rootdirectory}. */
        public Options rootDirectory(String rootDirectory) {
            this.rootDirectory = rootDirectory;
            return this;
        }

        /** Blob GETs answer 307 to a presigned URL ({@code storage.redirect.disable: false}, registry:2's default). */
        public Options redirect(boolean redirect) {
            this.redirect = redirect;
            return this;
        }

        /** {@code berth.s3.client}: netty or crt. */
        public Options client(String client) {
            this.client = client;
            return this;
        }

        /** {@code storage.s3.chunksize}. */
        public Options chunkSize(long chunkSize) {
            this.chunkSize = chunkSize;
            return this;
        }

        /** {@code berth.s3.partConcurrency}. */
        public Options partConcurrency(int partConcurrency) {
            this.partConcurrency = partConcurrency;
            return this;
        }

        /** More configuration, merged into the generated one (a map merges key by key; anything else replaces). */
        public Options yaml(String yaml) {
            this.extraYaml.add(yaml);
            return this;
        }

        /** Serves HTTPS with a certificate for 127.0.0.1 that {@code ca} signs. */
        public Options tls(TestPki.Ca ca) {
            this.tls = ca;
            return this;
        }

        /** registry:2's {@code auth.htpasswd} with these accounts (bcrypt). */
        public Options htpasswd(Map<String, String> passwords) {
            this.htpasswd.putAll(passwords);
            return this;
        }

        /** Talks to this S3 endpoint instead of the server's own (a fault-injecting proxy in front of it). */
        public Options endpoint(URI endpoint) {
            this.endpoint = endpoint;
            return this;
        }

        /** Credentials other than the server's (wrong ones, say). */
        public Options credentials(String accessKey, String secretKey) {
            this.accessKey = accessKey;
            this.secretKey = secretKey;
            return this;
        }

        /** JVM options added after the defaults ({@code -XX:+UseSerialGC -Xmx512m}). */
        public Options jvm(String... options) {
            this.jvmOptions.addAll(List.of(options));
            return this;
        }

        /** An environment variable of the process ({@code REGISTRY_*} overrides, say). */
        public Options env(String name, String value) {
            this.env.put(name, value);
            return this;
        }

        /** How long {@link #start} waits for the first answer on /v2/ (default 90 s). */
        public Options startTimeout(Duration timeout) {
            this.startTimeout = timeout;
            return this;
        }
    }

    /** Starts Berth on {@code bucket} of {@code s3}, with its files in {@code dir}, and waits until /v2/ answers. */
    public static S3Berth start(S3TestServer s3, String bucket, Path dir, Options o) {
        S3Berth b = launch(s3, bucket, dir, o);
        try {
            b.awaitServing(o.startTimeout);
            return b;
        } catch (RuntimeException | Error e) {
            b.close();
            throw e;
        }
    }

    /** Starts the process without waiting for it: for a start that is expected to fail. */
    public static S3Berth launch(S3TestServer s3, String bucket, Path dir, Options o) {
        try {
            Files.createDirectories(dir);
            Files.createDirectories(Proc.LOGS);
            int port = Daemon.freePort();
            int debugPort = Daemon.freePort();
            Path config = dir.resolve("config.yml");
            Files.writeString(config, configYaml(s3, bucket, dir, o, port, debugPort));
            Path log = Files.createTempFile(Proc.LOGS, "berth-s3-" + port + "-", ".log");
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.add("--enable-native-access=ALL-UNNAMED"); // the CRT client's native library
            command.addAll(o.jvmOptions);
            String jar = System.getProperty("berth.jar", REPO_ROOT.resolve("registry-server/target/berth-server.jar").toString());
            command.addAll(List.of("-jar", jar, "serve", config.toString()));
            ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().putAll(o.env);
            return new S3Berth(pb.start(), log, config, port, debugPort, o.tls);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The config.yml {@link #launch} writes. */
    static String configYaml(S3TestServer s3, String bucket, Path dir, Options o, int port, int debugPort) throws IOException {
        ObjectNode root = YAML.createObjectNode();
        root.put("version", "0.1");
        root.putObject("log").put("level", "info");
        ObjectNode storage = root.putObject("storage");
        ObjectNode s = storage.putObject("s3");
        s.put("region", "us-east-1");
        s.put("regionendpoint", (o.endpoint != null ? o.endpoint : s3.endpoint()).toString());
        s.put("forcepathstyle", true);
        s.put("secure", false);
        s.put("bucket", bucket);
        if (!o.rootDirectory.isEmpty()) {
            s.put("rootdirectory", "/" + o.rootDirectory);
        }
        s.put("accesskey", o.accessKey != null ? o.accessKey : s3.accessKey());
        s.put("secretkey", o.secretKey != null ? o.secretKey : s3.secretKey());
        if (o.chunkSize != null) {
            s.put("chunksize", o.chunkSize);
        }
        storage.putObject("redirect").put("disable", !o.redirect);
        storage.putObject("delete").put("enabled", true);
        ObjectNode http = root.putObject("http");
        http.put("addr", "127.0.0.1:" + port);
        http.putObject("debug").put("addr", "127.0.0.1:" + debugPort).putObject("prometheus").put("enabled", true).put("path", "/metrics");
        if (o.tls != null) {
            o.tls.server("127.0.0.1").writeTo(dir.resolve("tls.crt"), dir.resolve("tls.key"));
            http.putObject("tls").put("certificate", dir.resolve("tls.crt").toString()).put("key", dir.resolve("tls.key").toString());
        }
        if (!o.htpasswd.isEmpty()) {
            HtpasswdFiles.write(dir.resolve("htpasswd"), o.htpasswd);
            root.putObject("auth").putObject("htpasswd").put("realm", "berth-s3").put("path", dir.resolve("htpasswd").toString());
        }
        ObjectNode berthS3 = root.putObject("berth").putObject("s3");
        berthS3.put("client", o.client);
        if (o.partConcurrency != null) {
            berthS3.put("partConcurrency", o.partConcurrency);
        }
        for (String extra : o.extraYaml) {
            JsonNode more = YAML.readTree(extra);
            if (more instanceof ObjectNode m) {
                merge(root, m);
            }
        }
        return YAML.writeValueAsString(root);
    }

    private static void merge(ObjectNode into, ObjectNode from) {
        from.properties().forEach(e -> {
            JsonNode mine = into.get(e.getKey());
            if (mine instanceof ObjectNode m && e.getValue() instanceof ObjectNode f) {
                merge(m, f);
            } else {
                into.set(e.getKey(), e.getValue());
            }
        });
    }

    /** Waits until /v2/ answers anything (200, or 401 with htpasswd); fails with the log if the process exits first. */
    public void awaitServing(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (RegistryClient c = client(Duration.ofSeconds(2))) {
            while (true) {
                if (!process.isAlive()) {
                    throw new AssertionError("Berth on S3 exited " + process.exitValue() + " before it served:\n" + logTail());
                }
                try {
                    c.get("/v2/");
                    return;
                } catch (RuntimeException e) {
                    // not listening yet
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("Berth on S3 did not answer within " + timeout + ":\n" + logTail());
                }
                Daemon.sleep(Duration.ofMillis(100));
            }
        }
    }

    /** The exit code once the process has ended, or null if it still runs after {@code timeout}. */
    public @Nullable Integer awaitExit(Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public int port() {
        return port;
    }

    /** {@code 127.0.0.1:<port>}, for image references. */
    public String hostAndPort() {
        return "127.0.0.1:" + port;
    }

    public URI baseUri() {
        return URI.create((ca != null ? "https" : "http") + "://" + hostAndPort());
    }

    /** The debug listener, with Prometheus metrics on /metrics. */
    public URI debugUri() {
        return URI.create("http://127.0.0.1:" + debugPort);
    }

    /** A client for this Berth (trusting its CA under TLS), without credentials: {@code .as(user, password)} adds them. */
    public RegistryClient client() {
        return client(Duration.ofSeconds(60));
    }

    private RegistryClient client(Duration timeout) {
        RegistryClient.Builder b = RegistryClient.builder(baseUri()).timeout(timeout);
        if (ca != null) {
            b.trust(ca);
        }
        return b.build();
    }

    public Path config() {
        return config;
    }

    public Path log() {
        return log;
    }

    public String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String logTail() {
        return Proc.tailOf(log);
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** A crash: SIGKILL, no shutdown hook runs. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGTERM, then SIGKILL after 10 s. */
    @Override
    public void close() {
        Proc.kill(process);
    }

    @Override
    public String toString() {
        return "S3Berth[" + hostAndPort() + ", pid " + process.pid() + ", log " + Objects.toString(log) + "]";
    }
}
