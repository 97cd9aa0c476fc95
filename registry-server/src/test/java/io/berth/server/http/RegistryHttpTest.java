package io.berth.server.http;

import static io.berth.server.http.HttpFixture.assertError;
import static io.berth.server.http.HttpFixture.header;
import static io.berth.server.http.HttpFixture.utf8;
import static io.berth.testing.RegistryClient.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Blob pushes and pulls against a real Berth, driven by java.net.http. */
class RegistryHttpTest extends SharedBerthTest {
    private static String newRepo() {
        return newRepo("blobs/test");
    }

    @Test
    void chunkedPushWithContentRangeThenPull() {
        String repo = newRepo();
        byte[] content = utf8("0123456789abcdef");

        HttpResponse<byte[]> post = http.send("POST", "/v2/" + repo + "/blobs/uploads/", null);
        assertThat(post.statusCode()).isEqualTo(202);
        assertThat(header(post, "Range")).isEqualTo("0-0");
        String uuid = header(post, "Docker-Upload-UUID");
        String location = header(post, "Location");
        assertThat(location).contains("/v2/" + repo + "/blobs/uploads/" + uuid);

        HttpResponse<byte[]> first = http.send("PATCH", location, Arrays.copyOfRange(content, 0, 10),
                "Content-Range", "0-9", "Content-Type", "application/octet-stream");
        assertThat(first.statusCode()).isEqualTo(202);
        assertThat(header(first, "Range")).isEqualTo("0-9");
        assertThat(header(first, "Docker-Upload-UUID")).isEqualTo(uuid);

        HttpResponse<byte[]> second = http.send("PATCH", header(first, "Location"), Arrays.copyOfRange(content, 10, 16),
                "Content-Range", "10-15", "Content-Type", "application/octet-stream");
        assertThat(second.statusCode()).isEqualTo(202);
        assertThat(header(second, "Range")).isEqualTo("0-15");

        String digest = sha256(content);
        HttpResponse<byte[]> put = http.send("PUT", header(second, "Location") + "?digest=" + digest, null);
        assertThat(put.statusCode()).isEqualTo(201);
        assertThat(header(put, "Docker-Content-Digest")).isEqualTo(digest);
        assertThat(header(put, "Location")).endsWith("/v2/" + repo + "/blobs/" + digest);

        HttpResponse<byte[]> pulled = http.get(header(put, "Location"));
        assertThat(pulled.statusCode()).isEqualTo(200);
        assertThat(pulled.body()).isEqualTo(content);
        assertThat(header(pulled, "Docker-Content-Digest")).isEqualTo(digest);
        assertThat(header(pulled, "Content-Length")).isEqualTo("16");
    }

    @Test
    void monolithicPostWithDigest() {
        String repo = newRepo();
        byte[] content = utf8("monolithic");

        HttpResponse<byte[]> r = http.send("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + sha256(content), content);

        assertThat(r.statusCode()).isEqualTo(201);
        assertThat(header(r, "Docker-Content-Digest")).isEqualTo(sha256(content));
        assertThat(http.get("/v2/" + repo + "/blobs/" + sha256(content)).body()).isEqualTo(content);
    }

    @Test
    void monolithicPostWithTheWrongDigestStoresNothing() {
        String repo = newRepo();
        String wrong = sha256(utf8("something else"));

        assertError(http.send("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + wrong, utf8("content")), 400, "DIGEST_INVALID");

        assertThat(http.head("/v2/" + repo + "/blobs/" + wrong).statusCode()).isEqualTo(404);
        assertThat(http.head("/v2/" + repo + "/blobs/" + sha256(utf8("content"))).statusCode()).isEqualTo(404);
    }

    @Test
    void streamedPatchWithoutContentRangeThenPutWithTheLastChunk() {
        String repo = newRepo();
        String location = http.startUpload(repo);

        HttpResponse<byte[]> patch = http.send("PATCH", location, utf8("streamed "));
        assertThat(patch.statusCode()).isEqualTo(202);
        assertThat(header(patch, "Range")).isEqualTo("0-8");

        String digest = sha256(utf8("streamed tail"));
        HttpResponse<byte[]> put = http.send("PUT", header(patch, "Location") + "?digest=" + digest, utf8("tail"));
        assertThat(put.statusCode()).isEqualTo(201);
        assertThat(http.get("/v2/" + repo + "/blobs/" + digest).body()).isEqualTo(utf8("streamed tail"));
    }

    @Test
    void statusPollsAlongsideAChunkedPushNeverTurnAPatchAway() throws Exception {
        String repo = newRepo();
        String location = http.startUpload(repo);
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        // The PATCHes start once every poller polls, so that they race even when the machine is slow to start threads.
        java.util.concurrent.CountDownLatch polling = new java.util.concurrent.CountDownLatch(4);
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(4)) {
            java.util.List<java.util.concurrent.Future<Integer>> pollers = new java.util.ArrayList<>();
            for (int p = 0; p < 4; p++) {
                pollers.add(pool.submit(() -> {
                    int polls = 0;
                    while (!done.get()) {
                        polling.countDown();
                        int status = http.get(location).statusCode();
                        assertThat(status).as("204, or 400 while a PATCH holds the upload").isIn(204, 400);
                        polls++;
                    }
                    return polls;
                }));
            }
            StringBuilder sent = new StringBuilder();
            try {
                assertThat(polling.await(30, java.util.concurrent.TimeUnit.SECONDS)).as("every poller started").isTrue();
                for (int i = 0; i < 200; i++) {
                    String chunk = String.format("%04d", i);
                    HttpResponse<byte[]> patch = http.send("PATCH", location, utf8(chunk),
                            "Content-Range", sent.length() + "-" + (sent.length() + 3));
                    assertThat(patch.statusCode()).as("PATCH %d", i).isEqualTo(202);
                    sent.append(chunk);
                }
            } finally {
                done.set(true);
            }
            for (var poller : pollers) {
                assertThat(poller.get()).isPositive();
            }
            String digest = sha256(utf8(sent.toString()));
            assertThat(http.send("PUT", location + "?digest=" + digest, null).statusCode()).isEqualTo(201);
        }
    }

    @Test
    void outOfOrderPatchIsRangeNotSatisfiableAndTheUploadSurvives() {
        String repo = newRepo();
        String location = http.startUpload(repo);
        http.send("PATCH", location, utf8("01234"), "Content-Range", "0-4");

        HttpResponse<byte[]> gap = http.send("PATCH", location, utf8("789"), "Content-Range", "7-9");

        assertError(gap, 416, "RANGE_INVALID");
        assertThat(header(gap, "Range")).isEqualTo("0-4");
        assertThat(header(gap, "Location")).contains(location.substring(location.indexOf("/v2/")));
        HttpResponse<byte[]> overlap = http.send("PATCH", location, utf8("34"), "Content-Range", "3-4");
        assertError(overlap, 416, "RANGE_INVALID");
        HttpResponse<byte[]> next = http.send("PATCH", location, utf8("56789"), "Content-Range", "5-9");
        assertThat(next.statusCode()).isEqualTo(202);
        assertThat(header(next, "Range")).isEqualTo("0-9");
    }

    @Test
    void malformedContentRangeIsRangeNotSatisfiable() {
        String location = http.startUpload(newRepo());

        assertError(http.send("PATCH", location, utf8("x"), "Content-Range", "bytes=a-b"), 416, "RANGE_INVALID");
        assertError(http.send("PATCH", location, utf8("x"), "Content-Range", "5-0"), 416, "RANGE_INVALID");
    }

    @Test
    void contentRangeWithAnOverflowingNumberIsRangeInvalidNotAServerError() {
        String location = http.startUpload(newRepo());

        assertError(http.send("PATCH", location, utf8("x"), "Content-Range", "0-99999999999999999999"), 416, "RANGE_INVALID");
        assertError(http.send("PATCH", location, utf8("x"), "Content-Range", "99999999999999999999-99999999999999999999"),
                416, "RANGE_INVALID");
    }

    @Test
    void uploadStatusIsNoContentWithRange() {
        String repo = newRepo();
        String location = http.startUpload(repo);
        http.send("PATCH", location, utf8("twelve bytes"));

        HttpResponse<byte[]> status = http.get(location);

        assertThat(status.statusCode()).isEqualTo(204);
        assertThat(header(status, "Range")).isEqualTo("0-11");
        assertThat(header(status, "Location")).contains("/v2/" + repo + "/blobs/uploads/");
        assertThat(status.headers().firstValue("Docker-Upload-UUID")).isPresent();
        assertThat(status.body()).isEmpty();
    }

    @Test
    void cancelIsNoContentAndTheUploadIsThenUnknown() {
        String location = http.startUpload(newRepo());
        http.send("PATCH", location, utf8("abc"));

        assertThat(http.send("DELETE", location, null).statusCode()).isEqualTo(204);

        assertError(http.get(location), 404, "BLOB_UPLOAD_UNKNOWN");
        assertError(http.send("PATCH", location, utf8("more")), 404, "BLOB_UPLOAD_UNKNOWN");
        assertError(http.send("DELETE", location, null), 404, "BLOB_UPLOAD_UNKNOWN");
    }

    @Test
    void uploadIdOfAnotherRepositoryIsUnknown() {
        String location = http.startUpload(newRepo());
        String id = location.substring(location.lastIndexOf('/') + 1);

        assertError(http.get("/v2/" + newRepo() + "/blobs/uploads/" + id), 404, "BLOB_UPLOAD_UNKNOWN");
        assertError(http.send("PATCH", "/v2/" + newRepo() + "/blobs/uploads/" + id, utf8("x")), 404, "BLOB_UPLOAD_UNKNOWN");
    }

    @Test
    void malformedUploadIdIsUnknown() {
        String repo = newRepo();

        assertError(http.get("/v2/" + repo + "/blobs/uploads/.."), 404, "BLOB_UPLOAD_UNKNOWN");
        assertError(http.get("/v2/" + repo + "/blobs/uploads/%2e%2e%2f%2e%2e"), 404, "BLOB_UPLOAD_UNKNOWN");
    }

    @Test
    void putWithoutDigestOrWithAWrongOneIsDigestInvalid() {
        String repo = newRepo();
        String location = http.startUpload(repo);
        http.send("PATCH", location, utf8("payload"));

        assertError(http.send("PUT", location, null), 400, "DIGEST_INVALID");
        assertError(http.send("PUT", location + "?digest=sha256:nothex", null), 400, "DIGEST_INVALID");
        String wrong = sha256(utf8("not the payload"));
        assertError(http.send("PUT", location + "?digest=" + wrong, null), 400, "DIGEST_INVALID");

        assertThat(http.head("/v2/" + repo + "/blobs/" + wrong).statusCode()).isEqualTo(404);
        assertThat(http.head("/v2/" + repo + "/blobs/" + sha256(utf8("payload"))).statusCode()).isEqualTo(404);
    }

    @Test
    void rangedGetIsPartialContent() {
        String repo = newRepo();
        byte[] content = utf8("0123456789");
        String digest = http.pushBlob(repo, content);

        HttpResponse<byte[]> middle = http.get("/v2/" + repo + "/blobs/" + digest, "Range", "bytes=5-9");
        assertThat(middle.statusCode()).isEqualTo(206);
        assertThat(middle.body()).isEqualTo(utf8("56789"));
        assertThat(header(middle, "Content-Range")).isEqualTo("bytes 5-9/10");
        assertThat(header(middle, "Content-Length")).isEqualTo("5");

        HttpResponse<byte[]> suffix = http.get("/v2/" + repo + "/blobs/" + digest, "Range", "bytes=-3");
        assertThat(suffix.statusCode()).isEqualTo(206);
        assertThat(suffix.body()).isEqualTo(utf8("789"));
        assertThat(header(suffix, "Content-Range")).isEqualTo("bytes 7-9/10");

        HttpResponse<byte[]> open = http.get("/v2/" + repo + "/blobs/" + digest, "Range", "bytes=0-");
        assertThat(open.body()).isEqualTo(content);
    }

    @Test
    void unsatisfiableRangeIs416WithTheSize() {
        String repo = newRepo();
        String digest = http.pushBlob(repo, utf8("0123456789"));

        HttpResponse<byte[]> r = http.get("/v2/" + repo + "/blobs/" + digest, "Range", "bytes=10-");

        assertError(r, 416, "RANGE_INVALID");
        assertThat(header(r, "Content-Range")).isEqualTo("bytes */10");
    }

    @Test
    void malformedRangeIsIgnored() {
        String repo = newRepo();
        String digest = http.pushBlob(repo, utf8("0123456789"));

        HttpResponse<byte[]> r = http.get("/v2/" + repo + "/blobs/" + digest, "Range", "bytes=1-2,4-5");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(utf8("0123456789"));
        assertThat(r.headers().firstValue("Content-Range")).isEmpty();
    }

    @Test
    void headHasTheHeadersOfGetAndNoBody() {
        String repo = newRepo();
        String digest = http.pushBlob(repo, utf8("head me"));

        HttpResponse<byte[]> r = http.head("/v2/" + repo + "/blobs/" + digest);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(header(r, "Content-Length")).isEqualTo("7");
        assertThat(header(r, "Docker-Content-Digest")).isEqualTo(digest);
        assertThat(header(r, "ETag")).isEqualTo("\"" + digest + "\"");
        assertThat(r.body()).isEmpty();
    }

    @Test
    void ifNoneMatchWithTheEtagIsNotModified() {
        String repo = newRepo();
        String digest = http.pushBlob(repo, utf8("cached"));
        String etag = header(http.get("/v2/" + repo + "/blobs/" + digest), "ETag");

        HttpResponse<byte[]> r = http.get("/v2/" + repo + "/blobs/" + digest, "If-None-Match", etag);

        assertThat(r.statusCode()).isEqualTo(304);
        assertThat(r.body()).isEmpty();
        assertThat(http.get("/v2/" + repo + "/blobs/" + digest, "If-None-Match", "\"sha256:other\"").statusCode()).isEqualTo(200);
    }

    @Test
    void emptyBlobIsServedWholeWithStatus200() {
        String repo = newRepo();
        String digest = http.pushBlob(repo, new byte[0]);

        HttpResponse<byte[]> r = http.get("/v2/" + repo + "/blobs/" + digest);

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(header(r, "Content-Length")).isEqualTo("0");
        assertThat(r.body()).isEmpty();
        assertThat(r.headers().firstValue("Content-Range")).isEmpty();
    }

    @Test
    void crossMountFromARepositoryHoldingTheBlobIsCreated() {
        String source = newRepo();
        String target = newRepo();
        String digest = http.pushBlob(source, utf8("mount me"));

        HttpResponse<byte[]> r = http.send("POST", "/v2/" + target + "/blobs/uploads/?mount=" + digest + "&from=" + source, null);

        assertThat(r.statusCode()).isEqualTo(201);
        assertThat(header(r, "Docker-Content-Digest")).isEqualTo(digest);
        assertThat(header(r, "Location")).endsWith("/v2/" + target + "/blobs/" + digest);
        assertThat(http.get("/v2/" + target + "/blobs/" + digest).body()).isEqualTo(utf8("mount me"));
    }

    @Test
    void automaticMountWithoutFromIsCreated() {
        String digest = http.pushBlob(newRepo(), utf8("auto mount"));
        String target = newRepo();

        HttpResponse<byte[]> r = http.send("POST", "/v2/" + target + "/blobs/uploads/?mount=" + digest, null);

        assertThat(r.statusCode()).isEqualTo(201);
        assertThat(http.get("/v2/" + target + "/blobs/" + digest).body()).isEqualTo(utf8("auto mount"));
    }

    @Test
    void mountOfAnUnknownBlobFallsBackToAnUpload() {
        String target = newRepo();
        String digest = sha256(utf8("nowhere to be found"));

        HttpResponse<byte[]> r = http.send("POST", "/v2/" + target + "/blobs/uploads/?mount=" + digest + "&from=" + newRepo(), null);

        assertThat(r.statusCode()).isEqualTo(202);
        assertThat(header(r, "Location")).contains("/v2/" + target + "/blobs/uploads/");
        assertThat(http.get(header(r, "Location")).statusCode()).isEqualTo(204);
        assertThat(http.head("/v2/" + target + "/blobs/" + digest).statusCode()).isEqualTo(404);
    }

    @Test
    void mountFromARepositoryWithoutTheBlobFallsBackEvenIfItIsStoredElsewhere() {
        String digest = http.pushBlob(newRepo(), utf8("elsewhere"));
        String target = newRepo();

        HttpResponse<byte[]> r = http.send("POST", "/v2/" + target + "/blobs/uploads/?mount=" + digest + "&from=" + newRepo(), null);

        assertThat(r.statusCode()).isEqualTo(202);
        assertThat(http.head("/v2/" + target + "/blobs/" + digest).statusCode()).isEqualTo(404);
    }

    @Test
    void unknownBlobIs404AndAMalformedDigest400() {
        String repo = newRepo();

        assertError(http.get("/v2/" + repo + "/blobs/" + sha256(utf8("unknown"))), 404, "BLOB_UNKNOWN");
        assertError(http.get("/v2/" + repo + "/blobs/sha256:abc"), 400, "DIGEST_INVALID");
        assertError(http.get("/v2/" + repo + "/blobs/md5:d41d8cd98f00b204e9800998ecf8427e"), 400, "DIGEST_INVALID");
        HttpResponse<byte[]> head = http.head("/v2/" + repo + "/blobs/" + sha256(utf8("unknown")));
        assertThat(head.statusCode()).isEqualTo(404);
        assertThat(head.body()).isEmpty();
    }

    @Test
    void deletedBlobIsGoneFromThatRepositoryOnly() {
        String repo = newRepo();
        String other = newRepo();
        String digest = http.pushBlob(repo, utf8("delete me"));
        http.pushBlob(other, utf8("delete me"));

        assertThat(http.send("DELETE", "/v2/" + repo + "/blobs/" + digest, null).statusCode()).isEqualTo(202);

        assertError(http.get("/v2/" + repo + "/blobs/" + digest), 404, "BLOB_UNKNOWN");
        assertThat(http.get("/v2/" + other + "/blobs/" + digest).statusCode()).isEqualTo(200);
        assertError(http.send("DELETE", "/v2/" + repo + "/blobs/" + digest, null), 404, "BLOB_UNKNOWN");
    }

    @Test
    void largeBlobRoundTripsThroughSeveralChunks() {
        String repo = newRepo();
        byte[] content = new byte[5 * 1024 * 1024 + 17];
        new java.util.Random(7).nextBytes(content);

        String digest = http.pushBlob(repo, content);

        HttpResponse<byte[]> r = http.get("/v2/" + repo + "/blobs/" + digest);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(sha256(r.body())).isEqualTo(digest);
        HttpResponse<byte[]> tail = http.get("/v2/" + repo + "/blobs/" + digest, "Range", "bytes=-17");
        assertThat(tail.body()).isEqualTo(Arrays.copyOfRange(content, content.length - 17, content.length));
    }
}
