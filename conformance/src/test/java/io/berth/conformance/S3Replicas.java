package io.berth.conformance;

import io.berth.testing.RegistryClient;
import io.berth.testing.S3TestServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Stateless Berth replicas on one S3 bucket, as a Deployment runs them: one versitygw ({@link S3TestServer}), one
 * configuration with a {@code storage.s3} section, and each replica its own process from the built jar on its own
 * port ({@code REGISTRY_HTTP_ADDR}). Replicas share nothing but the bucket: no sticky sessions, no shared secret.
 * {@link Replica#kill()} ends one with SIGKILL, as a node failure does. {@link #close()} stops every replica, then the
 * S3 server.
 */
final class S3Replicas implements AutoCloseable {
    static final String BUCKET = "registry";
    static final String ROOT = "replicas";
    /** S3's smallest part size, so a few MiB already make several parts. */
    static final int CHUNK_SIZE = 5 * 1024 * 1024;

    private final Path work;
    private final S3TestServer s3;
    private final Path config;
    private final List<Replica> replicas = new ArrayList<>();
    private @Nullable S3AsyncClient client;

    private S3Replicas(Path work, S3TestServer s3, Path config) {
        this.work = work;
        this.s3 = s3;
        this.config = config;
    }

    /** Starts versitygw and {@code n} replicas on it, with {@code berthYaml} (lines under {@code berth:}, indented two spaces) added. */
    static S3Replicas start(Path work, int n, String berthYaml) {
        S3TestServer s3 = S3TestServer.start(work, BUCKET);
        S3Replicas r;
        try {
            Path config = Files.writeString(work.resolve("config.yml"), """
                    version: 0.1
                    log:
                      level: warn
                      accesslog:
                        disabled: true
                    storage:
                      s3:
                        region: us-east-1
                        regionendpoint: %s
                        forcepathstyle: true
                        secure: false
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
                      addr: 127.0.0.1:5000
                    berth:
                      s3:
                        partConcurrency: 2
                    %s""".formatted(s3.endpoint(), BUCKET, ROOT, s3.accessKey(), s3.secretKey(), CHUNK_SIZE, berthYaml));
            r = new S3Replicas(work, s3, config);
        } catch (IOException | RuntimeException e) {
            s3.close();
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
        try {
            for (int i = 0; i < n; i++) {
                r.startReplica();
            }
        } catch (RuntimeException | Error e) {
            r.close();
            throw e;
        }
        return r;
    }

    /** Replica {@code i}, in the order started. */
    Replica get(int i) {
        return replicas.get(i);
    }

    List<Replica> all() {
        return List.copyOf(replicas);
    }

    S3TestServer s3() {
        return s3;
    }

    /** Starts one more replica on the same bucket and configuration. */
    Replica startReplica() {
        int index = replicas.size();
        int port = Daemon.freePort();
        Path log = work.resolve("replica-" + index + ".log");
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-jar", System.getProperty("berth.jar", HostileBerth.REPO_ROOT.resolve("registry-server/target/berth-server.jar").toString()),
                "serve", config.toString());
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("REGISTRY_HTTP_ADDR", "127.0.0.1:" + port);
        Replica replica;
        try {
            replica = new Replica(index, port, pb.start(), log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        replicas.add(replica);
        replica.awaitServing();
        return replica;
    }

    /** The repository's prefix in the bucket: {@code <root>/docker/registry/v2/repositories/<repo>/}. */
    static String repositoryKey(String repo) {
        return ROOT + "/docker/registry/v2/repositories/" + repo + "/";
    }

    /** The keys of the objects under {@code prefix} (a key prefix in the bucket), as S3 lists them. */
    List<String> keys(String prefix) {
        List<String> out = new ArrayList<>();
        String token = null;
        do {
            String t = token;
            ListObjectsV2Response page = s3Client().listObjectsV2(b -> b.bucket(BUCKET).prefix(prefix).continuationToken(t)).join();
            page.contents().stream().map(S3Object::key).forEach(out::add);
            token = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
        } while (token != null);
        return out;
    }

    /** The multipart uploads open (started, neither completed nor aborted) on keys under {@code prefix}. */
    List<MultipartUpload> openMultipartUploads(String prefix) {
        return s3Client().listMultipartUploads(b -> b.bucket(BUCKET).prefix(prefix)).join().uploads();
    }

    /** How many parts the open multipart uploads under {@code prefix} hold, together. */
    int partsUploaded(String prefix) {
        int n = 0;
        for (MultipartUpload u : openMultipartUploads(prefix)) {
            n += s3Client().listParts(b -> b.bucket(BUCKET).key(u.key()).uploadId(u.uploadId())).join().parts().size();
        }
        return n;
    }

    private synchronized S3AsyncClient s3Client() {
        if (client == null) {
            client = S3AsyncClient.builder()
                    .httpClientBuilder(NettyNioAsyncHttpClient.builder())
                    .endpointOverride(s3.endpoint())
                    .forcePathStyle(true)
                    .region(Region.US_EAST_1)
                    .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(s3.accessKey(), s3.secretKey())))
                    .build();
        }
        return client;
    }

    /** Stops every replica still running, then versitygw. */
    @Override
    public void close() {
        List<AutoCloseable> all = new ArrayList<>(replicas);
        all.add(client);
        all.add(s3);
        Daemon.closeAll(all.toArray(AutoCloseable[]::new));
    }

    /** One Berth process of the set. */
    static final class Replica implements AutoCloseable {
        private final int index;
        private final int port;
        private final Process process;
        private final Path log;
        private final RegistryClient client;

        private Replica(int index, int port, Process process, Path log) {
            this.index = index;
            this.port = port;
            this.process = process;
            this.log = log;
            this.client = RegistryClient.builder(uri()).timeout(Duration.ofMinutes(2)).build();
        }

        String hostAndPort() {
            return "127.0.0.1:" + port;
        }

        int port() {
            return port;
        }

        URI uri() {
            return URI.create("http://" + hostAndPort());
        }

        /** A client of this replica alone (no redirects followed: {@code storage.redirect.disable} is set). */
        RegistryClient client() {
            return client;
        }

        RegistryHttp http() {
            return new RegistryHttp(hostAndPort());
        }

        String logTail() {
            return Proc.tailOf(log);
        }

        private void awaitServing() {
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (true) {
                if (!process.isAlive()) {
                    throw new AssertionError("replica " + index + " exited " + process.exitValue() + ":\n" + logTail());
                }
                try {
                    if (client.get("/v2/").statusCode() == 200) {
                        return;
                    }
                } catch (UncheckedIOException e) {
                    // not listening yet
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("replica " + index + " did not serve /v2/ within 90 s:\n" + logTail());
                }
                Daemon.sleep(Duration.ofMillis(100));
            }
        }

        /** SIGKILL, as a node failure: no shutdown hook runs, nothing is flushed or released. */
        void kill() {
            process.destroyForcibly();
            try {
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    throw new AssertionError("replica " + index + " survived SIGKILL");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        boolean isAlive() {
            return process.isAlive();
        }

        @Override
        public void close() {
            client.close();
            Proc.kill(process);
        }

        @Override
        public String toString() {
            return "replica " + index + " (" + hostAndPort() + ")";
        }
    }
}
