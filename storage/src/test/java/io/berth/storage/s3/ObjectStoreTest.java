package io.berth.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.storage.Problem;
import io.berth.storage.StorageException;
import io.berth.testing.S3TestServer;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** ObjectStore against a real S3 server (versitygw), through both of the SDK's HTTP clients. */
class ObjectStoreTest {
    @TempDir
    static Path work;
    static S3TestServer s3;

    @BeforeAll
    static void start() {
        s3 = S3TestServer.start(work, "bucket");
    }

    @AfterAll
    static void stop() {
        s3.close();
    }

    static ObjectStore store(S3Settings.Client client, String root) {
        return ObjectStore.open(S3Settings.defaults("bucket", "us-east-1").withEndpoint(s3.endpoint(), true)
                .withCredentials(s3.accessKey(), s3.secretKey()).withRootDirectory(root).withClient(client, 4));
    }

    @ParameterizedTest
    @EnumSource(S3Settings.Client.class)
    void writesUnderRegistry2sPrefixAndReadsBack(S3Settings.Client client) throws Exception {
        try (ObjectStore store = store(client, "/root-" + client + "/")) {
            String etag = store.put("repositories/a/_layers/link", "x".getBytes(StandardCharsets.UTF_8));
            assertThat(Files.readString(s3.dir().resolve("bucket/root-" + client + "/docker/registry/v2/repositories/a/_layers/link"))).isEqualTo("x");
            ObjectStore.Content c = store.get("repositories/a/_layers/link");
            assertThat(c).isNotNull();
            assertThat(new String(c.bytes(), StandardCharsets.UTF_8)).isEqualTo("x");
            assertThat(c.etag()).isEqualTo(etag);
            assertThat(store.get("nothing")).isNull();
            assertThat(store.stat("nothing")).isNull();
            assertThat(store.stat("repositories/a/_layers/link").size()).isEqualTo(1);
            try (InputStream in = store.stream("repositories/a/_layers/link", 0, 1)) {
                assertThat(in.readAllBytes()).containsExactly('x');
            }
            assertThatThrownBy(() -> store.stream("nothing", 0, 1)).isInstanceOf(StorageException.class)
                    .extracting(e -> ((StorageException) e).problem()).isEqualTo(Problem.BLOB_UNKNOWN);
        }
    }

    @Test
    void conditionalWritesLetOneWriterWin() {
        try (ObjectStore store = store(S3Settings.Client.NETTY, "cond")) {
            String first = store.putIfAbsent("lock", "a".getBytes(StandardCharsets.UTF_8));
            assertThat(first).isNotNull();
            assertThat(store.putIfAbsent("lock", "b".getBytes(StandardCharsets.UTF_8))).isNull();
            String second = store.putIfMatch("lock", "c".getBytes(StandardCharsets.UTF_8), first);
            assertThat(second).isNotNull().isNotEqualTo(first);
            assertThat(store.putIfMatch("lock", "d".getBytes(StandardCharsets.UTF_8), first)).isNull();
            assertThat(store.deleteIfMatch("lock", first)).isFalse();
            assertThat(store.get("lock").bytes()).containsExactly('c');
            assertThat(store.deleteIfMatch("lock", second)).isTrue();
            assertThat(store.get("lock")).isNull();
        }
    }

    @ParameterizedTest
    @EnumSource(S3Settings.Client.class)
    void multipartUploadsListsCopiesAndPresigns(S3Settings.Client client) throws Exception {
        try (ObjectStore store = store(client, "mp-" + client)) {
            byte[] data = new byte[(int) (S3Settings.MIN_PART * 2 + 1000)];
            new Random(1).nextBytes(data);
            String id = store.createMultipart("uploads/x/data");
            List<ObjectStore.Part> parts = new ArrayList<>();
            parts.add(store.uploadPart("uploads/x/data", id, 2, ByteBuffer.wrap(data, (int) S3Settings.MIN_PART, (int) S3Settings.MIN_PART)).join());
            parts.add(store.uploadPart("uploads/x/data", id, 1, ByteBuffer.wrap(data, 0, (int) S3Settings.MIN_PART)).join());
            parts.add(store.uploadPart("uploads/x/data", id, 3, ByteBuffer.wrap(data, (int) (2 * S3Settings.MIN_PART), 1000)).join());
            store.completeMultipart("uploads/x/data", id, parts);
            store.copy("uploads/x/data", "blobs/x/data", data.length);
            try (InputStream in = store.stream("blobs/x/data", 0, data.length)) {
                assertThat(java.util.Arrays.equals(in.readAllBytes(), data)).as("the bytes read back equal those written").isTrue();
            }
            try (InputStream in = store.stream("blobs/x/data", 5, 10)) {
                assertThat(in.readAllBytes()).isEqualTo(java.util.Arrays.copyOfRange(data, 5, 15));
            }
            assertThat(store.listDirectories("")).containsExactly("blobs/", "uploads/");
            List<String> keys = new ArrayList<>();
            store.list("", o -> keys.add(o.key()));
            assertThat(keys).containsExactly("blobs/x/data", "uploads/x/data");
            URI url = store.presignGet("blobs/x/data", java.time.Duration.ofMinutes(1));
            HttpResponse<byte[]> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(url).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo(data);
            store.deleteAll("");
            assertThat(store.listDirectories("")).isEmpty();
        }
    }

    @Test
    void multipartCopyAboveTheThreshold() throws Exception {
        S3Settings settings = S3Settings.defaults("bucket", "us-east-1").withEndpoint(s3.endpoint(), true)
                .withCredentials(s3.accessKey(), s3.secretKey()).withRootDirectory("copy");
        settings = new S3Settings(settings.region(), settings.regionEndpoint(), true, "bucket", "copy", s3.accessKey(), s3.secretKey(),
                false, false, true, S3Settings.MIN_PART, S3Settings.MIN_PART, 3, S3Settings.MIN_PART, null, false, null, false,
                S3Settings.Client.NETTY, 2);
        try (ObjectStore store = ObjectStore.open(settings)) {
            byte[] data = new byte[(int) (S3Settings.MIN_PART * 3 + 7)];
            new Random(2).nextBytes(data);
            store.put("a", data);
            store.copy("a", "b", data.length);
            try (InputStream in = store.stream("b", 0, data.length)) {
                assertThat(java.util.Arrays.equals(in.readAllBytes(), data)).as("the bytes read back equal those written").isTrue();
            }
        }
    }

    @Test
    void wrongCredentialsAreNamed() {
        S3Settings settings = S3Settings.defaults("bucket", "us-east-1").withEndpoint(s3.endpoint(), true)
                .withCredentials(s3.accessKey(), "wrong");
        try (ObjectStore store = ObjectStore.open(settings)) {
            assertThatThrownBy(() -> store.get("x")).isInstanceOf(StorageException.class)
                    .hasMessageContaining("refuses Berth's credentials");
        }
    }
}
