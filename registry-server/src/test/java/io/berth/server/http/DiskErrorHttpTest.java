package io.berth.server.http;

import static io.berth.server.http.HttpFixture.assertError;
import static io.berth.server.http.HttpFixture.header;
import static io.berth.testing.RegistryClient.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.testing.RegistryClient;
import io.berth.testing.ScratchVolume;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Berth on eiofs, a FUSE layer the test mounts, whose reads or writes fail with EIO on demand. Each failing request
 * is a 500 UNKNOWN with the spec's JSON body naming the I/O error; nothing partial becomes visible; the server goes
 * on serving every request that does not need the failing operation, and all of them once the volume recovers.
 */
class DiskErrorHttpTest {
    private static final String REPO = "team/app";

    private ScratchVolume volume;
    private HttpFixture http;

    @BeforeEach
    void berthOnAFaultyVolume() throws IOException {
        volume = ScratchVolume.eio();
        http = start();
    }

    @AfterEach
    void stop() throws IOException {
        try {
            http.close();
        } finally {
            volume.close();
        }
    }

    @Test
    void writesFailingWithEioAre500WithJsonWhileReadsGoOnAndThePushResumesAfter() throws IOException {
        HttpFixture.Manifest v1 = http.pushImage(REPO, "base", "v1");
        byte[] content = random(300_000, 1);
        String location = http.startUpload(REPO);
        assertThat(http.send("PATCH", location, Arrays.copyOf(content, 1000), "Content-Type", "application/octet-stream").statusCode()).isEqualTo(202);

        volume.failWrites(true);
        try {
            JsonNode patch = assertError(http.send("PATCH", location, Arrays.copyOfRange(content, 1000, content.length),
                    "Content-Type", "application/octet-stream", "Content-Range", "1000-" + (content.length - 1)), 500, "UNKNOWN");
            assertThat(patch.get("detail").asText()).contains("storage I/O error", "Input/output error");
            assertError(http.send("POST", "/v2/" + REPO + "/blobs/uploads/?digest=" + sha256(content), content), 500, "UNKNOWN");
            JsonNode tag = assertError(http.send("PUT", "/v2/" + REPO + "/manifests/v2", v1.content(), "Content-Type", HttpFixture.OCI_MANIFEST),
                    500, "UNKNOWN");
            assertThat(tag.get("detail").asText()).contains("Input/output error");

            assertReadsWork(v1);
            assertThat(HttpFixture.json(http.get("/v2/" + REPO + "/tags/list").body()).get("tags").toString()).isEqualTo("[\"v1\"]");
            assertThat(http.get("/v2/" + REPO + "/blobs/" + sha256(content)).statusCode()).isEqualTo(404);
        } finally {
            volume.failWrites(false);
        }

        int kept = Math.toIntExact(Long.parseLong(header(http.get(location), "Range").substring(2)) + 1);
        HttpResponse<byte[]> rest = http.send("PATCH", location, Arrays.copyOfRange(content, kept, content.length),
                "Content-Type", "application/octet-stream", "Content-Range", kept + "-" + (content.length - 1));
        assertThat(rest.statusCode()).as(RegistryClient.text(rest)).isEqualTo(202);
        HttpResponse<byte[]> done = http.send("PUT", location + (location.contains("?") ? "&" : "?") + "digest=" + sha256(content), new byte[0]);
        assertThat(done.statusCode()).as(RegistryClient.text(done)).isEqualTo(201);
        assertThat(http.get("/v2/" + REPO + "/blobs/" + sha256(content)).body()).isEqualTo(content);
        http.putManifest(REPO, "v2", HttpFixture.json(v1.content()).deepCopy());
    }

    @Test
    void readsFailingWithEioAre500WithJsonAndTheServerGoesOnServing() throws IOException {
        HttpFixture.Manifest v1 = http.pushImage(REPO, "base", "v1");
        http.close();
        http = start(); // nothing cached: every read reaches the volume

        volume.failReads(true);
        try {
            JsonNode byTag = assertError(http.get("/v2/" + REPO + "/manifests/v1", "Accept", HttpFixture.OCI_MANIFEST), 500, "UNKNOWN");
            assertThat(byTag.get("detail").asText()).contains("Input/output error");
            assertError(http.get("/v2/" + REPO + "/manifests/" + v1.digest(), "Accept", HttpFixture.OCI_MANIFEST), 500, "UNKNOWN");
            assertThat(assertError(http.get("/v2/" + REPO + "/tags/list"), 500, "UNKNOWN").get("detail").asText()).contains("Input/output error");
            JsonNode layer = HttpFixture.json(v1.content()).get("layers").get(0);
            assertError(http.get("/v2/" + REPO + "/blobs/" + layer.get("digest").asText()), 500, "UNKNOWN");
            assertThat(http.get("/v2/").statusCode()).as("what needs no disk is still served").isEqualTo(200);
        } finally {
            volume.failReads(false);
        }

        assertReadsWork(v1);
    }

    private HttpFixture start() {
        return HttpFixture.startOn(volume.path(), "berth:\n  storage:\n    minFreeBytes: 0\n");
    }

    private void assertReadsWork(HttpFixture.Manifest v1) {
        assertThat(http.get("/v2/").statusCode()).isEqualTo(200);
        HttpResponse<byte[]> manifest = http.get("/v2/" + REPO + "/manifests/v1", "Accept", HttpFixture.OCI_MANIFEST);
        assertThat(manifest.statusCode()).isEqualTo(200);
        assertThat(manifest.body()).isEqualTo(v1.content());
        JsonNode layer = HttpFixture.json(v1.content()).get("layers").get(0);
        HttpResponse<byte[]> blob = http.get("/v2/" + REPO + "/blobs/" + layer.get("digest").asText());
        assertThat(blob.statusCode()).isEqualTo(200);
        assertThat(sha256(blob.body())).isEqualTo(layer.get("digest").asText());
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }
}
