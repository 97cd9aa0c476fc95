package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.Map;
import java.util.function.IntFunction;
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
 * Stateless Berth replicas on one S3 bucket, as a Deployment runs them: one versitygw ({@link S3TestServer}), and each
 * replica an {@link S3Berth} (its own process from the built jar, its own port) with the same {@code storage.s3}
 * section: rootdirectory {@value #ROOT}, 5 MiB parts, two in flight. Replicas share nothing but the bucket: no sticky
 * sessions, no shared secret. {@link Replica#kill()} ends one with SIGKILL, as a node failure does. {@link #close()}
 * stops every replica, then the S3 server.
 */
final class S3Replicas implements AutoCloseable {
    static final String BUCKET = "registry";
    static final String ROOT = "replicas";
    /** S3's smallest part size, so a few MiB already make several parts. */
    static final int CHUNK_SIZE = 5 * 1024 * 1024;

    private final Path work;
    private final S3TestServer s3;
    private final String yaml;
    private final IntFunction<Map<String, String>> env;
    private final List<Replica> replicas = new ArrayList<>();
    private @Nullable S3AsyncClient client;

    private S3Replicas(Path work, S3TestServer s3, String yaml, IntFunction<Map<String, String>> env) {
        this.work = work;
        this.s3 = s3;
        this.yaml = yaml;
        this.env = env;
    }

    /** Starts versitygw and {@code n} replicas on it, with {@code yaml} (a YAML document, or "") merged into their configuration. */
    static S3Replicas start(Path work, int n, String yaml) {
        return start(work, n, yaml, i -> Map.of());
    }

    /** {@link #start(Path, int, String)}, with {@code env.apply(i)} in replica {@code i}'s environment. */
    static S3Replicas start(Path work, int n, String yaml, IntFunction<Map<String, String>> env) {
        try {
            Files.createDirectories(work);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        S3TestServer s3 = S3TestServer.start(work, BUCKET);
        S3Replicas r = new S3Replicas(work, s3, yaml, env);
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
        S3Berth.Options o = S3Berth.options().rootDirectory(ROOT).chunkSize(CHUNK_SIZE).partConcurrency(2)
                .jvm("-Xmx256m", "-XX:TieredStopAtLevel=1");
        if (!yaml.isBlank()) {
            o.yaml(yaml);
        }
        env.apply(index).forEach(o::env);
        Replica replica = new Replica(index, S3Berth.start(s3, BUCKET, work.resolve("replica-" + index), o));
        replicas.add(replica);
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

    /** One Berth process of the set, and one client of it. */
    static final class Replica implements AutoCloseable {
        private final int index;
        private final S3Berth berth;
        private final RegistryClient client;

        private Replica(int index, S3Berth berth) {
            this.index = index;
            this.berth = berth;
            this.client = RegistryClient.builder(berth.baseUri()).timeout(Duration.ofMinutes(2)).build();
        }

        String hostAndPort() {
            return berth.hostAndPort();
        }

        URI uri() {
            return berth.baseUri();
        }

        /** A client of this replica alone (no redirects followed: {@code storage.redirect.disable} is set). */
        RegistryClient client() {
            return client;
        }

        RegistryHttp http() {
            return new RegistryHttp(hostAndPort());
        }

        String logTail() {
            return berth.logTail();
        }

        /** SIGKILL, as a node failure: no shutdown hook runs, nothing is flushed or released. */
        void kill() {
            berth.kill();
            assertThat(berth.isAlive()).as("%s after SIGKILL", this).isFalse();
        }

        @Override
        public void close() {
            client.close();
            berth.close();
        }

        @Override
        public String toString() {
            return "replica " + index + " (" + hostAndPort() + ")";
        }
    }
}
