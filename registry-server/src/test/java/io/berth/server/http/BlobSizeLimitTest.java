package io.berth.server.http;

import static io.berth.server.http.HttpFixture.assertError;
import static io.berth.server.http.HttpFixture.read;
import static io.berth.server.http.HttpFixture.write;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.RegistryClient;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code berth.maxBlobBytes}: one push cannot fill the volume; past the limit, 413 before the bytes are written. */
class BlobSizeLimitTest {
    @TempDir
    Path dir;

    private HttpFixture start() {
        return HttpFixture.startWithConfig(dir, "127.0.0.1:0", "berth:\n  maxBlobBytes: 1000\n");
    }

    private long uploadedBytes() throws Exception {
        Path root = dir.resolve("data/docker/registry/v2/repositories");
        if (!Files.exists(root)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.getFileName().toString().equals("data") && p.toString().contains("_uploads"))
                    .mapToLong(p -> p.toFile().length()).sum();
        }
    }

    @Test
    void aMonolithicPushPastTheLimitIs413AtTheHeadAndOneWithinItIsStored() throws Exception {
        try (HttpFixture http = start()) {
            byte[] big = new byte[1001];
            HttpFixture.RawResponse r;
            try (Socket s = http.socket()) {
                write(s, "POST /v2/team/app/blobs/uploads/?digest=" + RegistryClient.sha256(big) + " HTTP/1.1\r\nHost: x\r\n"
                        + "Content-Type: application/octet-stream\r\nContent-Length: 1001\r\n\r\n");
                r = read(s);
            }
            assertThat(r.status()).isEqualTo(413);
            assertThat(HttpFixture.json(r.body()).path("errors").get(0).path("code").asText()).isEqualTo("SIZE_INVALID");
            assertThat(HttpFixture.json(r.body()).path("errors").get(0).path("detail").asText()).contains("berth.maxBlobBytes");
            assertThat(http.head("/v2/team/app/blobs/" + RegistryClient.sha256(big)).statusCode()).isEqualTo(404);
            assertThat(http.pushBlob("team/app", new byte[1000])).isEqualTo(RegistryClient.sha256(new byte[1000]));
        }
    }

    @Test
    void aChunkedPatchGrowingPastTheLimitIs413AndWritesNothingPastIt() throws Exception {
        try (HttpFixture http = start()) {
            String location = http.startUpload("team/app");
            String path = location.substring(location.indexOf("/v2/"));
            byte[] chunk = new byte[600];
            Arrays.fill(chunk, (byte) 'x');
            try (Socket s = http.socket()) {
                write(s, "PATCH " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n258\r\n");
                write(s, chunk);
                write(s, "\r\n258\r\n");
                write(s, chunk);
                write(s, "\r\n0\r\n\r\n");
                assertThat(read(s).status()).isEqualTo(413);
            }
            assertThat(uploadedBytes()).as("nothing past the limit reached the disk").isLessThanOrEqualTo(1000);
            assertError(http.send("PUT", path + (path.contains("?") ? "&" : "?") + "digest=" + RegistryClient.sha256(new byte[1200]),
                    new byte[0]), 400, "DIGEST_INVALID");
        }
    }

    @Test
    void belowTheFreeSpaceFloorUploadsAre507WhileReadsAndDeletesGoOn() throws Exception {
        // A floor above what any test machine has free: the volume counts as full.
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "berth:\n  storage:\n    minFreeBytes: 9223372036854775807\n")) {
            var refused = http.send("POST", "/v2/team/app/blobs/uploads/", new byte[0]);
            assertThat(refused.statusCode()).isEqualTo(507);
            assertThat(RegistryClient.text(refused)).contains("berth.storage.minFreeBytes");
            String unknown = RegistryClient.sha256("never pushed".getBytes());
            assertThat(http.get("/v2/").statusCode()).isEqualTo(200);
            assertThat(http.get("/v2/team/app/blobs/" + unknown).statusCode()).as("reads are answered, not refused").isEqualTo(404);
            assertThat(http.send("DELETE", "/v2/team/app/blobs/" + unknown, new byte[0]).statusCode()).as("deletes too").isEqualTo(404);
        }
    }
}
