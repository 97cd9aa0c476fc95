package io.berth.conformance;

import static io.berth.conformance.S3ReplicasIT.path;
import static io.berth.conformance.S3ReplicasIT.random;
import static io.berth.conformance.S3ReplicasIT.withDigest;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.conformance.S3Replicas.Replica;
import io.berth.testing.RegistryClient;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica killed with SIGKILL in the middle of a streamed PATCH, once parts of it are in the bucket: another replica
 * reports what survived (the upload's Range), takes the rest from that offset, and the blob commits with the client's
 * digest and bytes. The upload's state lives in the bucket only ({@code _uploads/<id>/berth-state}, with a lease the
 * dead replica never releases): until the lease expires, the survivor answers the upload's status with a registry
 * error, never with a hang or a wrong offset.
 */
class S3ReplicaKillIT {
    private static final int PART = S3Replicas.CHUNK_SIZE;
    /** Far beyond the lease (15 s): a deadline, not a measurement. */
    private static final Duration RESUME_DEADLINE = Duration.ofMinutes(2);

    @TempDir
    static Path work;

    private static S3Replicas replicas;

    @BeforeAll
    static void start() {
        replicas = S3Replicas.start(work, 2, "");
    }

    @AfterAll
    static void stop() {
        Daemon.closeAll(replicas);
    }

    @Test
    void anUploadCutBySigkillOfItsReplicaResumesOnAnotherFromWhatSurvived() throws Exception {
        String repo = "kill/upload";
        Replica a = replicas.startReplica();
        Replica b = replicas.get(0);
        Replica c = replicas.get(1);
        byte[] content = random(6 * PART + 12_345, 99);
        String digest = RegistryClient.sha256(content);

        // Two parts and half of a third, acknowledged by A.
        String location = a.client().startUpload(repo);
        int acknowledged = 2 * PART + PART / 2;
        HttpResponse<byte[]> first = RegistryClient.expect(a.client().send("PATCH", path(location), Arrays.copyOf(content, acknowledged),
                "Content-Type", "application/octet-stream", "Content-Range", "0-" + (acknowledged - 1)), 202);
        location = first.headers().firstValue("Location").orElseThrow();
        String uploads = S3Replicas.repositoryKey(repo) + "_uploads/";
        int partsBefore = replicas.partsUploaded(uploads);

        // Three more parts' worth streamed to A, the request left open; A is killed once a part of it is in the bucket.
        int sent = 3 * PART;
        HeldBody body = new HeldBody(content, acknowledged, acknowledged + sent);
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            HttpRequest patch = HttpRequest.newBuilder(a.uri().resolve(path(location)))
                    .method("PATCH", HttpRequest.BodyPublishers.ofInputStream(() -> body))
                    .header("Content-Type", "application/octet-stream")
                    .build();
            CompletableFuture<HttpResponse<byte[]>> streaming = http.sendAsync(patch, HttpResponse.BodyHandlers.ofByteArray());
            try {
                awaitParts(uploads, partsBefore + 1, a);
                a.kill();
            } finally {
                body.release();
            }
            assertThat(streaming).as("the PATCH to the killed replica").failsWithin(Duration.ofMinutes(1));
        }

        // What survived, read on B once the dead replica's lease has expired (until then, a registry error: the upload
        // may still be growing): at least what A acknowledged, at most what was sent.
        String range = awaitStatus(b, location);
        assertThat(range).as("the Range %s reports for the upload %s", b, location).matches("0-\\d+");
        int survived = Integer.parseInt(range.substring(2)) + 1;
        assertThat(survived).as("bytes of the upload that survived the kill").isBetween(acknowledged, acknowledged + sent);

        // The rest from that offset, on B, then the commit on C.
        byte[] rest = Arrays.copyOfRange(content, survived, content.length);
        HttpResponse<byte[]> resumed = RegistryClient.expect(b.client().send("PATCH", path(location), rest,
                "Content-Type", "application/octet-stream", "Content-Range", survived + "-" + (content.length - 1)), 202);
        assertThat(resumed.headers().firstValue("Range")).hasValue("0-" + (content.length - 1));

        HttpResponse<byte[]> put = RegistryClient.expect(c.client().send("PUT", withDigest(location, digest), null), 201);
        assertThat(put.headers().firstValue("Docker-Content-Digest")).hasValue(digest);
        HttpResponse<byte[]> blob = RegistryClient.expect(b.client().get("/v2/" + repo + "/blobs/" + digest), 200);
        assertThat(RegistryClient.sha256(blob.body())).isEqualTo(digest);
        assertThat(blob.body()).isEqualTo(content);

        // Nothing of the upload is left in the bucket: no objects, no open multipart upload (S3 bills for its parts).
        assertThat(replicas.keys(uploads)).as("objects left under %s", uploads).isEmpty();
        assertThat(replicas.openMultipartUploads(uploads)).as("multipart uploads left open under %s", uploads).isEmpty();
    }

    /**
     * The Range of the upload's status on {@code on}, once it answers 204; meanwhile (a lease held) each answer must be a
     * clear refusal.
     */
    private static String awaitStatus(Replica on, String location) {
        List<String> refusals = new ArrayList<>();
        long deadline = System.nanoTime() + RESUME_DEADLINE.toNanos();
        while (true) {
            HttpResponse<byte[]> status = on.client().get(path(location));
            if (status.statusCode() == 204) {
                return status.headers().firstValue("Range").orElseThrow(() -> new AssertionError("no Range in " + S3ReplicasIT.describe(status)));
            }
            refusals.add(S3ReplicasIT.describe(status));
            assertClearRefusal(status);
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the upload's status was still refused after " + RESUME_DEADLINE + ": " + refusals);
            }
            Daemon.sleep(Duration.ofMillis(500));
        }
    }

    /** A registry error (JSON, a code and a message) with a 4xx or 5xx status, not a bare status or a hang. */
    private static void assertClearRefusal(HttpResponse<byte[]> r) {
        assertThat(r.statusCode()).as(S3ReplicasIT.describe(r)).isBetween(400, 599);
        assertThat(r.headers().firstValue("Content-Type")).as(S3ReplicasIT.describe(r))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
        JsonNode error = RegistryHttp.json(r.body()).path("errors").path(0);
        assertThat(error.path("code").asText()).as(S3ReplicasIT.describe(r)).isNotBlank();
        assertThat(error.path("message").asText()).as(S3ReplicasIT.describe(r)).isNotBlank();
    }

    /** Waits until the open multipart uploads under {@code prefix} hold {@code parts} parts. */
    private static void awaitParts(String prefix, int parts, Replica writer) {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        int seen;
        while ((seen = replicas.partsUploaded(prefix)) < parts) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("after a minute, " + seen + " parts under " + prefix + " (waiting for " + parts + "); "
                        + writer + "'s log:\n" + writer.logTail());
            }
            Daemon.sleep(Duration.ofMillis(100));
        }
    }

    /**
     * A request body that gives {@code content[from, to)} and then holds the request open, sending nothing more, until
     * {@link #release()}; then it ends.
     */
    private static final class HeldBody extends InputStream {
        private final byte[] content;
        private final int to;
        private final CountDownLatch released = new CountDownLatch(1);
        private int next;

        HeldBody(byte[] content, int from, int to) {
            this.content = content;
            this.next = from;
            this.to = to;
        }

        void release() {
            released.countDown();
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (next < to) {
                int n = Math.min(len, to - next);
                System.arraycopy(content, next, b, off, n);
                next += n;
                return n;
            }
            try {
                released.await(5, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return -1;
        }
    }
}
