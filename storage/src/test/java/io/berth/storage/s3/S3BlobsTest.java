package io.berth.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.storage.BlobContent;
import io.berth.storage.Digest;
import io.berth.storage.Problem;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import io.berth.testing.S3TestServer;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** S3Blobs on a real S3 server (versitygw): registry:2's keys, links, small content. */
class S3BlobsTest {
    @TempDir
    static Path work;
    static S3TestServer s3;
    static ObjectStore store;

    @BeforeAll
    static void start() {
        s3 = S3TestServer.start(work, "bucket");
        store = ObjectStore.open(S3Settings.defaults("bucket", "us-east-1").withEndpoint(s3.endpoint(), true)
                .withCredentials(s3.accessKey(), s3.secretKey()).withRootDirectory("root"));
    }

    @AfterAll
    static void stop() {
        store.close();
        s3.close();
    }

    static final RepositoryName REPO = RepositoryName.of("team/app");

    @Test
    void contentGoesToRegistry2sBlobKeyAndLinksHoldTheDigest() throws Exception {
        S3Blobs blobs = new S3Blobs(store);
        byte[] content = "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8);
        Digest d = Digest.sha256(content);
        assertThat(blobs.globalSize(d)).isEqualTo(-1);
        blobs.putContent(d, content);
        Path v2 = s3.dir().resolve("bucket/root/docker/registry/v2");
        assertThat(Files.readAllBytes(v2.resolve("blobs/sha256/" + d.hex().substring(0, 2) + "/" + d.hex() + "/data"))).isEqualTo(content);
        assertThat(blobs.readContent(d)).isEqualTo(content);
        assertThat(new S3Blobs(store).globalSize(d)).as("another replica sees it").isEqualTo(content.length);

        assertThat(blobs.isLinked(REPO, d)).isFalse();
        assertThatThrownBy(() -> blobs.size(REPO, d)).extracting(e -> ((StorageException) e).problem()).isEqualTo(Problem.BLOB_UNKNOWN);
        blobs.link(REPO, d);
        assertThat(Files.readString(v2.resolve("repositories/team/app/_layers/sha256/" + d.hex() + "/link"))).isEqualTo(d.toString());
        assertThat(blobs.isLinked(REPO, d)).isTrue();
        assertThat(blobs.size(REPO, d)).isEqualTo(content.length);
        try (InputStream in = blobs.stream(d, 2, 5)) {
            assertThat(in.readAllBytes()).isEqualTo(java.util.Arrays.copyOfRange(content, 2, 7));
        }
        blobs.unlink(REPO, d);
        assertThat(blobs.isLinked(REPO, d)).isFalse();
        assertThatThrownBy(() -> blobs.unlink(REPO, d)).extracting(e -> ((StorageException) e).problem()).isEqualTo(Problem.BLOB_UNKNOWN);
    }

    @Test
    void missingBlobIsUnknownAndNotCached() {
        S3Blobs blobs = new S3Blobs(store);
        byte[] content = "later".getBytes(StandardCharsets.UTF_8);
        Digest d = Digest.sha256(content);
        assertThatThrownBy(() -> blobs.readContent(d)).extracting(e -> ((StorageException) e).problem()).isEqualTo(Problem.BLOB_UNKNOWN);
        assertThatThrownBy(() -> blobs.stream(d, 0, 1)).extracting(e -> ((StorageException) e).problem()).isEqualTo(Problem.BLOB_UNKNOWN);
        assertThat(blobs.globalSize(d)).isEqualTo(-1);
        new S3Blobs(store).putContent(d, content);
        assertThat(blobs.globalSize(d)).as("stored by another replica").isEqualTo(content.length);
    }

    @Test
    void presignedUrlServesTheBlob() throws Exception {
        S3Blobs blobs = new S3Blobs(store);
        byte[] content = "presigned".getBytes(StandardCharsets.UTF_8);
        Digest d = Digest.sha256(content);
        blobs.putContent(d, content);
        HttpResponse<byte[]> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(blobs.presign(d)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(content);
    }

    @Test
    void openStreamsOrRedirectsAsStorageRedirectSays() throws Exception {
        byte[] content = "opened".getBytes(StandardCharsets.UTF_8);
        Digest d = Digest.sha256(content);
        S3Blobs streaming = new S3Blobs(store);
        assertThatThrownBy(() -> streaming.open(REPO, d)).extracting(e -> ((StorageException) e).problem()).isEqualTo(Problem.BLOB_UNKNOWN);
        streaming.putContent(d, content);
        assertThatThrownBy(() -> streaming.open(REPO, d)).as("stored but not linked").extracting(e -> ((StorageException) e).problem())
                .isEqualTo(Problem.BLOB_UNKNOWN);
        streaming.link(REPO, d);
        assertThat(store.settings().redirect()).isTrue(); // registry:2's default
        try (ObjectStore noRedirect = ObjectStore.open(store.settings().withRedirect(false))) {
            BlobContent c = new S3Blobs(noRedirect).open(REPO, d);
            assertThat(c).isInstanceOf(BlobContent.Stream.class);
            assertThat(c.size()).isEqualTo(content.length);
            try (InputStream in = ((BlobContent.Stream) c).opener().open(1, 3)) {
                assertThat(in.readAllBytes()).isEqualTo(java.util.Arrays.copyOfRange(content, 1, 4));
            }
        }
        BlobContent r = streaming.open(REPO, d);
        assertThat(r).isInstanceOf(BlobContent.Redirect.class);
        HttpResponse<byte[]> got = HttpClient.newHttpClient().send(HttpRequest.newBuilder(((BlobContent.Redirect) r).location()).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(got.body()).isEqualTo(content);
        try (InputStream in = r.stream()) {
            assertThat(in.readAllBytes()).isEqualTo(content);
        }
    }
}
