package io.berth.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * versitygw ({@code scripts/install-peers.sh}) as a real S3 server: its {@code posix} backend on a fresh directory, one
 * subdirectory per bucket, on 127.0.0.1 with random root keys. {@link #close()} stops it. The binary is named by
 * {@code BERTH_VERSITYGW} in the install script's {@code env.sh} ({@code $BERTH_TOOLS}, else /var/cache/berth-tools);
 * a missing one fails the test with the command that installs it.
 */
public final class S3TestServer implements AutoCloseable {
    private static final Pattern EXPORT = Pattern.compile("export BERTH_VERSITYGW='([^']*)'");

    private final Process process;
    private final Path log;
    private final Path dir;
    private final int port;
    private final String accessKey;
    private final String secretKey;

    private S3TestServer(Process process, Path log, Path dir, int port, String accessKey, String secretKey) {
        this.process = process;
        this.log = log;
        this.dir = dir;
        this.port = port;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
    }

    /** Starts versitygw over a fresh directory under {@code work}, with {@code buckets} created, and waits until it answers. */
    public static S3TestServer start(Path work, String... buckets) {
        SecureRandom random = new SecureRandom();
        String access = "AK" + HexFormat.of().formatHex(random.generateSeed(8)).toUpperCase(java.util.Locale.ROOT);
        String secret = HexFormat.of().formatHex(random.generateSeed(20));
        int port = freePort();
        Process process;
        Path log;
        Path dir;
        try {
            dir = Files.createTempDirectory(work, "s3-");
            for (String bucket : buckets) {
                Files.createDirectories(dir.resolve(bucket)); // posix backend: a top-level directory is a bucket
            }
            log = work.resolve("versitygw-" + port + ".log");
            ProcessBuilder pb = new ProcessBuilder(binary(), "--port", "127.0.0.1:" + port, "--quiet", "posix", dir.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("ROOT_ACCESS_KEY", access);
            pb.environment().put("ROOT_SECRET_KEY", secret);
            process = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        S3TestServer s = new S3TestServer(process, log, dir, port, access, secret);
        try {
            s.awaitReady(Duration.ofSeconds(30));
        } catch (RuntimeException | Error e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** The versitygw binary that scripts/install-peers.sh installed. */
    public static String binary() {
        Path env = Path.of(System.getenv().getOrDefault("BERTH_TOOLS", "/var/cache/berth-tools")).resolve("env.sh");
        try {
            if (Files.isRegularFile(env)) {
                for (String line : Files.readAllLines(env)) {
                    Matcher m = EXPORT.matcher(line.strip());
                    if (m.matches() && Files.isExecutable(Path.of(m.group(1)))) {
                        return m.group(1);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("peer versitygw is not installed; run scripts/install-peers.sh (as root) first");
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    public int port() {
        return port;
    }

    /** The store's directory: {@code <dir>/<bucket>/<object key>}. */
    public Path dir() {
        return dir;
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    /** The server's own output, for failure messages. */
    public Path log() {
        return log;
    }

    /** Waits until any HTTP answer comes back (an unsigned request gets 403: the server is up). */
    private void awaitReady(Duration timeout) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest ping = HttpRequest.newBuilder(endpoint().resolve("/")).timeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("versitygw exited " + process.exitValue() + ":\n" + tail());
            }
            try {
                client.send(ping, HttpResponse.BodyHandlers.discarding());
                return;
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new AssertionError("versitygw did not answer within " + timeout + ":\n" + tail());
    }

    private String tail() {
        try {
            String s = Files.readString(log);
            return s.length() <= 4000 ? s : "…" + s.substring(s.length() - 4000);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() {
        process.descendants().forEach(ProcessHandle::destroy);
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
