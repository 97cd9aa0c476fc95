package io.berth.conformance;

import static io.berth.conformance.RoundTripContent.blobPath;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.conformance.S3FaultProxy.Fault;
import io.berth.testing.RegistryClient;
import io.berth.testing.S3TestServer;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a registry client sees when the S3 server misbehaves: a fault-injecting HTTP proxy ({@link S3FaultProxy}, on
 * 127.0.0.1) between Berth and versitygw answers 503 SlowDown or drops a connection in the middle of an UploadPart
 * body; and Berth started with a wrong secret key. Pushes go through {@link RegistryClient}, which never retries, so
 * that what Berth answers is what is asserted.
 */
class S3FaultsIT {
    private static final String BUCKET = "registry";
    private static final long CHUNK = 5L << 20;
    /** The spec's error body: {"errors":[{"code":...,"message":...}]}. */
    private static final Pattern ERROR_BODY = Pattern.compile("(?s)\\{\\s*\"errors\"\\s*:\\s*\\[\\s*\\{.*\"code\"\\s*:.*");

    @RegisterExtension
    static final S3TestServer.PerClass S3 = S3TestServer.perClass(BUCKET);

    @Test
    void occasionalSlowDownIsRetriedAndThePushSucceeds(@TempDir Path dir) {
        try (S3FaultProxy proxy = S3FaultProxy.start(S3.get().endpoint());
                S3Berth berth = berth(dir, "slowdown-some", proxy);
                RegistryClient c = berth.client()) {
            withEvents(proxy, () -> {
            // Every third request to S3 from here on is refused once with 503 SlowDown.
            AtomicInteger n = new AtomicInteger();
            proxy.policy((request) -> n.incrementAndGet() % 3 == 0 ? Fault.SLOW_DOWN : Fault.NONE);
            Random random = new Random(1);
            byte[] config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"
                    .getBytes(StandardCharsets.UTF_8);
            byte[] small = bytes(random, 100_000);
            byte[] large = bytes(random, (int) (2 * CHUNK + 777));
            String configDigest = c.pushBlob("faults/app", config);
            String smallDigest = c.pushBlob("faults/app", small);
            String largeDigest = chunkedUpload(c, "faults/app", large, (int) CHUNK + 1, large.length);
            byte[] manifest = manifest(configDigest, config.length, List.of(smallDigest, largeDigest), List.of(small.length, large.length));
            String digest = c.putManifest("faults/app", "v1", "application/vnd.oci.image.manifest.v1+json", manifest);

            proxy.policy(request -> Fault.NONE);
            assertThat(proxy.injected()).as("503 SlowDown answers the proxy gave Berth").isGreaterThan(3);
            assertThat(RegistryClient.expect(c.get("/v2/faults/app/manifests/v1", "Accept", "application/vnd.oci.image.manifest.v1+json"), 200)
                    .headers().firstValue("Docker-Content-Digest")).hasValue(digest);
            for (var blob : List.of(configDigest, smallDigest, largeDigest)) {
                assertThat(RegistryClient.sha256(RegistryClient.expect(c.get("/v2/faults/app/blobs/" + blob), 200).body())).isEqualTo(blob);
            }
            });
        }
    }

    @Test
    void slowDownOnEveryRequestGivesTheClientARegistryErrorNotAHang(@TempDir Path dir) {
        try (S3FaultProxy proxy = S3FaultProxy.start(S3.get().endpoint());
                S3Berth berth = berth(dir, "slowdown-all", proxy);
                RegistryClient c = RegistryClient.builder(berth.baseUri()).timeout(Duration.ofMinutes(3)).build()) {
            withEvents(proxy, () -> {
            String before = c.pushBlob("faults/app", "pushed before the outage".getBytes(StandardCharsets.UTF_8));
            proxy.policy(request -> Fault.SLOW_DOWN);

            List<HttpResponse<byte[]>> answers = List.of(
                    c.send("POST", "/v2/faults/app/blobs/uploads/?digest=" + RegistryClient.sha256(new byte[] {1, 2, 3}),
                            new byte[] {1, 2, 3}, "Content-Type", "application/octet-stream"),
                    c.get("/v2/faults/app/blobs/" + before),
                    c.get("/v2/faults/app/manifests/v1", "Accept", "application/vnd.oci.image.manifest.v1+json"),
                    c.get("/v2/faults/app/tags/list"));
            for (HttpResponse<byte[]> r : answers) {
                // 503 UNAVAILABLE: the store's trouble may pass, and a client may try again
                assertThat(r.statusCode()).as("%s %s while S3 answers SlowDown: %s", r.request().method(), r.request().uri(),
                        RegistryClient.text(r)).isEqualTo(503);
                assertThat(RegistryClient.text(r)).as("the body of %s %s", r.request().method(), r.request().uri()).matches(ERROR_BODY)
                        .contains("\"UNAVAILABLE\"").contains("SlowDown");
            }
            assertThat(berth.isAlive()).isTrue();

            proxy.policy(request -> Fault.NONE);
            String after = c.pushBlob("faults/app", "pushed after the outage".getBytes(StandardCharsets.UTF_8));
            assertThat(RegistryClient.expect(c.get("/v2/faults/app/blobs/" + after), 200).body())
                    .asString(StandardCharsets.UTF_8).isEqualTo("pushed after the outage");
            });
        }
    }

    @Test
    void aConnectionDroppedInAnUploadPartBodyIsRetriedOrRefusedAndNoPartialBlobIsEverServed(@TempDir Path dir) {
        try (S3FaultProxy proxy = S3FaultProxy.start(S3.get().endpoint());
                S3Berth berth = berth(dir, "drop-once", proxy);
                RegistryClient c = RegistryClient.builder(berth.baseUri()).timeout(Duration.ofMinutes(3)).build()) {
            withEvents(proxy, () -> {
            byte[] blob = bytes(new Random(2), (int) (3 * CHUNK + 4321));
            String digest = RegistryClient.sha256(blob);
            AtomicInteger parts = new AtomicInteger();
            proxy.policy(request -> request.isUploadPart() && parts.incrementAndGet() == 2 ? Fault.DROP_MID_BODY : Fault.NONE);

            HttpResponse<byte[]> put = pushMonolithic(c, "faults/app", blob);

            assertThat(proxy.injected()).as("UploadPart bodies the proxy cut").isEqualTo(1);
            if (put.statusCode() == 201) {
                assertServedWhole(c, "faults/app", digest, blob);
            } else {
                assertClearError(put);
                assertNotServedOrWhole(c, "faults/app", digest, blob, "drop-once");
            }
            });
        }
    }

    @Test
    void uploadPartsThatAlwaysDropGiveAClearErrorAndNoBlob(@TempDir Path dir) {
        try (S3FaultProxy proxy = S3FaultProxy.start(S3.get().endpoint());
                S3Berth berth = berth(dir, "drop-always", proxy);
                RegistryClient c = RegistryClient.builder(berth.baseUri()).timeout(Duration.ofMinutes(3)).build()) {
            withEvents(proxy, () -> {
            byte[] blob = bytes(new Random(3), (int) (2 * CHUNK + 99));
            String digest = RegistryClient.sha256(blob);
            proxy.policy(request -> request.isUploadPart() ? Fault.DROP_MID_BODY : Fault.NONE);

            HttpResponse<byte[]> put = pushMonolithic(c, "faults/app", blob);

            assertThat(proxy.injected()).isPositive();
            assertClearError(put);
            assertThat(c.head("/v2/faults/app/blobs/" + digest).statusCode()).isEqualTo(404);
            assertThat(c.get("/v2/faults/app/blobs/" + digest).statusCode()).isEqualTo(404);
            assertThat(objectOf("drop-always", digest)).as("the blob's object in the bucket").doesNotExist();

            proxy.policy(request -> Fault.NONE);
            HttpResponse<byte[]> again = pushMonolithic(c, "faults/app", blob);
            assertThat(again.statusCode()).as("the same push once S3 is well: %s", RegistryClient.text(again)).isEqualTo(201);
            assertServedWhole(c, "faults/app", digest, blob);
            });
        }
    }

    @Test
    void aWrongSecretKeyIsReportedAsACredentialsProblem(@TempDir Path dir) {
        S3Berth.Options options = S3Berth.options().rootDirectory("wrong-secret")
                .credentials(S3.get().accessKey(), "not-" + S3.get().secretKey())
                .yaml("health:\n  storagedriver:\n    enabled: true\n    interval: 1s\n    threshold: 1\n");
        Pattern namesCredentials = Pattern.compile("(?is).*(credential|secret ?key|signature|access ?key).*");
        try (S3Berth berth = S3Berth.launch(S3.get(), BUCKET, dir.resolve("berth"), options)) {
            Integer exit = startedOrExited(berth, Duration.ofMinutes(2));
            if (exit != null) {
                assertThat(exit).as("Berth's exit code with a wrong secret key").isNotZero();
                assertThat(berth.logText()).as("Berth's output with a wrong secret key").matches(namesCredentials);
                return;
            }
            try (RegistryClient c = berth.client(); RegistryClient debug = RegistryClient.of(berth.debugUri())) {
                HttpResponse<byte[]> push = c.send("POST", "/v2/faults/app/blobs/uploads/?digest=" + RegistryClient.sha256(new byte[] {7}),
                        new byte[] {7}, "Content-Type", "application/octet-stream");
                // 500: a refused key does not pass by itself
                assertThat(push.statusCode()).as("a push with a wrong secret key: %s", RegistryClient.text(push)).isEqualTo(500);
                assertThat(RegistryClient.text(push)).matches(ERROR_BODY).matches(namesCredentials);
                HttpResponse<byte[]> health = awaitStatus(debug, "/debug/health", 503, Duration.ofSeconds(60));
                assertThat(RegistryClient.text(health)).as("GET /debug/health once the storage health check failed").matches(namesCredentials)
                        .contains("storagedriver_s3");
                assertThat(berth.logText()).as("Berth's log").matches(namesCredentials);
            }
        }
    }

    // ---- helpers

    /** Runs {@code test}; a failure carries the S3 requests the proxy saw, and what it did with them. */
    private static void withEvents(S3FaultProxy proxy, Runnable test) {
        try {
            test.run();
        } catch (AssertionError | RuntimeException e) {
            e.addSuppressed(new AssertionError("S3 requests through the proxy:\n" + String.join("\n", proxy.events())));
            throw e;
        }
    }

    private static S3Berth berth(Path dir, String root, S3FaultProxy proxy) {
        return S3Berth.start(S3.get(), BUCKET, dir.resolve("berth"), S3Berth.options().rootDirectory(root).chunkSize(CHUNK)
                .endpoint(proxy.endpoint()));
    }

    /** POST then one PUT with the whole blob; the PUT's answer. */
    private static HttpResponse<byte[]> pushMonolithic(RegistryClient c, String repo, byte[] blob) {
        URI location = c.resolve(c.startUpload(repo));
        String sep = location.getRawQuery() == null ? "?" : "&";
        return c.send("PUT", location + sep + "digest=" + RegistryClient.sha256(blob), blob, "Content-Type", "application/octet-stream");
    }

    /** POST, a PATCH per boundary in {@code ends}, then PUT ?digest=; returns the digest. */
    private static String chunkedUpload(RegistryClient c, String repo, byte[] content, int... ends) {
        URI location = c.resolve(c.startUpload(repo));
        int from = 0;
        for (int end : ends) {
            HttpResponse<byte[]> r = RegistryClient.expect(c.send("PATCH", location.toString(), java.util.Arrays.copyOfRange(content, from, end),
                    "Content-Type", "application/octet-stream", "Content-Range", from + "-" + (end - 1)), 202);
            location = c.resolve(r.headers().firstValue("Location").orElseThrow());
            from = end;
        }
        String digest = RegistryClient.sha256(content);
        String sep = location.getRawQuery() == null ? "?" : "&";
        RegistryClient.expect(c.send("PUT", location + sep + "digest=" + digest, null), 201);
        return digest;
    }

    private static void assertClearError(HttpResponse<byte[]> r) {
        assertThat(r.statusCode()).as("%s %s: %s", r.request().method(), r.request().uri(), RegistryClient.text(r)).isBetween(500, 599);
        assertThat(RegistryClient.text(r)).matches(ERROR_BODY);
    }

    private static void assertServedWhole(RegistryClient c, String repo, String digest, byte[] blob) {
        HttpResponse<byte[]> head = RegistryClient.expect(c.head("/v2/" + repo + "/blobs/" + digest), 200);
        assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue(blob.length);
        assertThat(RegistryClient.sha256(RegistryClient.expect(c.get("/v2/" + repo + "/blobs/" + digest), 200).body())).isEqualTo(digest);
    }

    /** HEAD and GET of the digest are 404, or 200 with every byte; the bucket holds the whole blob or none. */
    private static void assertNotServedOrWhole(RegistryClient c, String repo, String digest, byte[] blob, String root) {
        int head = c.head("/v2/" + repo + "/blobs/" + digest).statusCode();
        assertThat(head).isIn(200, 404);
        if (head == 200) {
            assertServedWhole(c, repo, digest, blob);
        } else {
            assertThat(c.get("/v2/" + repo + "/blobs/" + digest).statusCode()).isEqualTo(404);
        }
        Path object = objectOf(root, digest);
        if (Files.exists(object)) {
            assertThat(object).as("the blob's object in the bucket").hasSize(blob.length);
            assertThat(RegistryClient.sha256(object)).isEqualTo(digest);
        }
    }

    private static Path objectOf(String root, String digest) {
        return S3.get().dir().resolve(BUCKET).resolve(root).resolve(blobPath(digest));
    }

    /** Waits until /v2/ answers (null) or the process exits (its code). */
    private static @Nullable Integer startedOrExited(S3Berth berth, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (RegistryClient c = RegistryClient.builder(berth.baseUri()).timeout(Duration.ofSeconds(5)).build()) {
            while (System.nanoTime() < deadline) {
                Integer exit = berth.awaitExit(Duration.ofMillis(200));
                if (exit != null) {
                    return exit;
                }
                try {
                    c.get("/v2/");
                    return null;
                } catch (RuntimeException e) {
                    // not listening yet
                }
            }
        }
        throw new AssertionError("Berth with a wrong secret key neither served nor exited:\n" + berth.logTail());
    }

    /** Polls {@code path} until it answers {@code status} (the health check runs every second), or fails after {@code timeout}. */
    private static HttpResponse<byte[]> awaitStatus(RegistryClient c, String path, int status, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        HttpResponse<byte[]> r = c.get(path);
        while (r.statusCode() != status && System.nanoTime() < deadline) {
            Daemon.sleep(Duration.ofMillis(250));
            r = c.get(path);
        }
        assertThat(r.statusCode()).as("GET %s: %s", path, RegistryClient.text(r)).isEqualTo(status);
        return r;
    }

    private static byte[] manifest(String config, int configSize, List<String> layers, List<Integer> sizes) {
        StringBuilder b = new StringBuilder("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",")
                .append("\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"").append(config)
                .append("\",\"size\":").append(configSize).append("},\"layers\":[");
        for (int i = 0; i < layers.size(); i++) {
            b.append(i == 0 ? "" : ",").append("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"")
                    .append(layers.get(i)).append("\",\"size\":").append(sizes.get(i)).append('}');
        }
        return b.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] bytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }
}
