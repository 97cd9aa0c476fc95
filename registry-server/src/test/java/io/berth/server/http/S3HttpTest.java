package io.berth.server.http;

import static io.berth.testing.RegistryClient.expect;
import static io.berth.testing.RegistryClient.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.server.Berth;
import io.berth.server.config.ConfigLoader;
import io.berth.testing.RegistryClient;
import io.berth.testing.S3TestServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Blobs served from an S3 bucket (versitygw): streamed through Berth with ranges and HEADs, or, without
 * {@code storage.redirect.disable}, a 307 to a presigned URL that serves the same bytes; and an upload begun on one
 * Berth and finished on another, both on the bucket.
 */
class S3HttpTest {
    @TempDir
    static Path work;
    static S3TestServer s3;

    @BeforeAll
    static void startStore() {
        s3 = S3TestServer.start(work, "registry");
    }

    @AfterAll
    static void stopStore() {
        s3.close();
    }

    private static Berth berth(String root, boolean redirect) throws IOException {
        Path dir = Files.createTempDirectory(work, "berth-");
        Path config = Files.writeString(dir.resolve("config.yml"), """
                version: 0.1
                storage:
                  s3:
                    region: us-east-1
                    regionendpoint: %s
                    forcepathstyle: true
                    bucket: registry
                    rootdirectory: /%s
                    accesskey: %s
                    secretkey: %s
                    chunksize: 5242880
                  redirect:
                    disable: %s
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:0
                """.formatted(s3.endpoint(), root, s3.accessKey(), s3.secretKey(), !redirect));
        Berth berth = Berth.builder().config(ConfigLoader.load(config, Map.of())).build();
        berth.start();
        return berth;
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void blobsStreamFromTheBucketWithRangesAndHeads() throws IOException {
        try (Berth berth = berth("streamed", false); RegistryClient client = RegistryClient.of(berth.baseUri())) {
            byte[] blob = random(12 << 20, 1); // more than two parts of 5 MiB
            String digest = client.pushBlob("team/app", blob);
            assertThat(digest).isEqualTo(sha256(blob));
            assertThat(Files.exists(s3.dir().resolve("registry/streamed/docker/registry/v2/blobs/sha256/"
                    + digest.substring(7, 9) + "/" + digest.substring(7) + "/data"))).isTrue();

            HttpResponse<byte[]> full = expect(client.get("/v2/team/app/blobs/" + digest), 200);
            assertThat(Arrays.equals(full.body(), blob)).as("the streamed body is the blob").isTrue();
            assertThat(full.headers().firstValue("Docker-Content-Digest")).hasValue(digest);

            HttpResponse<byte[]> part = expect(client.get("/v2/team/app/blobs/" + digest, "Range", "bytes=5242870-5242889"), 206);
            assertThat(part.body()).isEqualTo(Arrays.copyOfRange(blob, 5242870, 5242890));
            assertThat(part.headers().firstValue("Content-Range")).hasValue("bytes 5242870-5242889/" + blob.length);

            HttpResponse<byte[]> head = expect(client.head("/v2/team/app/blobs/" + digest), 200);
            assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue(blob.length);
            assertThat(head.body()).isEmpty();

            expect(client.get("/v2/team/app/blobs/" + digest, "If-None-Match", "\"" + digest + "\""), 304);
            expect(client.get("/v2/other/blobs/" + digest), 404);
        }
    }

    @Test
    void withoutRedirectDisableAGetIsSentToAPresignedUrl() throws Exception {
        try (Berth berth = berth("redirected", true); RegistryClient client = RegistryClient.of(berth.baseUri())) {
            byte[] blob = random(70_000, 2);
            String digest = client.pushBlob("app", blob);

            HttpResponse<byte[]> r = expect(client.get("/v2/app/blobs/" + digest), 307);
            URI location = URI.create(r.headers().firstValue("Location").orElseThrow());
            assertThat(location.getPort()).isEqualTo(s3.endpoint().getPort());
            assertThat(location.getQuery()).contains("X-Amz-Signature=");
            HttpResponse<byte[]> fetched = HttpClient.newHttpClient().send(HttpRequest.newBuilder(location).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(fetched.statusCode()).isEqualTo(200);
            assertThat(fetched.body()).isEqualTo(blob);

            // A HEAD is answered by Berth itself: the size is known, and a client checking for a blob needs no second hop.
            HttpResponse<byte[]> head = expect(client.head("/v2/app/blobs/" + digest), 200);
            assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue(blob.length);
        }
    }

    @Test
    void anUploadBegunOnOneReplicaIsFinishedOnAnother() throws IOException {
        try (Berth a = berth("replicas", false); Berth b = berth("replicas", false);
                RegistryClient onA = RegistryClient.of(a.baseUri()); RegistryClient onB = RegistryClient.of(b.baseUri())) {
            byte[] blob = random(7 << 20, 3);
            String location = onA.startUpload("shared");
            String path = URI.create(location).getRawPath() + (URI.create(location).getRawQuery() == null ? "" : "?" + URI.create(location).getRawQuery());
            HttpResponse<byte[]> first = expect(onA.send("PATCH", path, Arrays.copyOfRange(blob, 0, 6 << 20),
                    "Content-Type", "application/octet-stream"), 202);
            assertThat(first.headers().firstValue("Range")).hasValue("0-" + ((6 << 20) - 1));
            HttpResponse<byte[]> status = expect(onB.get(path), 204);
            assertThat(status.headers().firstValue("Range")).hasValue("0-" + ((6 << 20) - 1));
            String digest = sha256(blob);
            expect(onB.send("PUT", path + (path.contains("?") ? "&" : "?") + "digest=" + digest, Arrays.copyOfRange(blob, 6 << 20, blob.length),
                    "Content-Type", "application/octet-stream"), 201);
            assertThat(Arrays.equals(expect(onA.get("/v2/shared/blobs/" + digest), 200).body(), blob)).isTrue();
        }
    }
}
