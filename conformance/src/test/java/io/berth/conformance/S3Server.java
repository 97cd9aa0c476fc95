package io.berth.conformance;

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

/**
 * versitygw (scripts/install-peers.sh) as a real S3 server: its {@code posix} backend on a fresh directory, one
 * subdirectory per bucket, on 127.0.0.1 with random root keys. {@link #close()} stops it and everything it started.
 */
final class S3Server implements AutoCloseable {
    private final Process process;
    private final Path log;
    private final Path dir;
    private final int port;
    private final String accessKey;
    private final String secretKey;

    private S3Server(Process process, Path log, Path dir, int port, String accessKey, String secretKey) {
        this.process = process;
        this.log = log;
        this.dir = dir;
        this.port = port;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
    }

    /** Starts versitygw over a fresh directory under {@code work}, with {@code bucket} created, and waits until it answers. */
    static S3Server start(Path work, String bucket) {
        SecureRandom random = new SecureRandom();
        String access = "AK" + HexFormat.of().formatHex(random.generateSeed(8)).toUpperCase();
        String secret = HexFormat.of().formatHex(random.generateSeed(20));
        int port = freePort();
        Process process;
        Path log;
        Path dir;
        try {
            dir = Files.createTempDirectory(work, "s3-");
            Files.createDirectories(dir.resolve(bucket)); // posix backend: a top-level directory is a bucket
            Files.createDirectories(Proc.LOGS);
            log = Files.createTempFile(Proc.LOGS, "versitygw-", ".log");
            ProcessBuilder pb = new ProcessBuilder(Peers.tool("VERSITYGW"), "--port", "127.0.0.1:" + port, "--quiet",
                    "posix", dir.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("ROOT_ACCESS_KEY", access);
            pb.environment().put("ROOT_SECRET_KEY", secret);
            process = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        S3Server s = new S3Server(process, log, dir, port, access, secret);
        try {
            s.awaitReady(Duration.ofSeconds(30));
        } catch (RuntimeException | Error e) {
            s.close();
            throw e;
        }
        return s;
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** The store's directory: {@code <dir>/<bucket>/<object key>}. */
    Path dir() {
        return dir;
    }

    String accessKey() {
        return accessKey;
    }

    String secretKey() {
        return secretKey;
    }

    /** Waits until any HTTP answer comes back (an unsigned request gets 403: the server is up). */
    private void awaitReady(Duration timeout) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest ping = HttpRequest.newBuilder(endpoint().resolve("/")).timeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("versitygw exited " + process.exitValue() + ":\n" + Proc.tailOf(log));
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
        throw new AssertionError("versitygw did not answer within " + timeout + ":\n" + Proc.tailOf(log));
    }

    @Override
    public void close() {
        Proc.kill(process);
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
