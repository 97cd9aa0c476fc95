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
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Berth on a small ext4 volume the test mounts, fills and remounts read-only. A full volume is 507 with the
 * UNAVAILABLE code; a read-only one is 500 UNKNOWN; both with the spec's JSON body saying what failed. Reads go on
 * meanwhile, and the same pushes work once the volume is writable again.
 */
class DiskFaultHttpTest {
    private static final String REPO = "team/app";
    /** No free-space floor: these tests reach the disk's own ENOSPC, which the floor exists to forestall. */
    private static final String NO_FLOOR = "berth:\n  storage:\n    minFreeBytes: 0\n";

    private ScratchVolume volume;
    private HttpFixture http;

    @BeforeEach
    void berthOnASmallVolume() throws IOException {
        volume = ScratchVolume.ext4(32);
        http = HttpFixture.startOn(volume.path(), NO_FLOOR);
        assertThat(http.berth.storageDirectory()).startsWith(volume.path());
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
    void aFullVolumeAnswers507WithJsonWhileReadsGoOnAndThePushWorksOnceSpaceIsFreed() throws IOException {
        HttpFixture.Manifest v1 = http.pushImage(REPO, "base", "v1");
        byte[] blob = random(300_000, 1);
        Path filler = volume.fillUp();

        // Each refused push gives back what it had taken: the volume is filled up again before the next.
        JsonNode monolithic = assertError(http.send("POST", "/v2/" + REPO + "/blobs/uploads/?digest=" + sha256(blob), blob), 507, "UNAVAILABLE");
        assertThat(monolithic.get("detail").asText()).contains("volume is full", "No space left on device");
        volume.fillUp();
        assertError(http.send("POST", "/v2/" + REPO + "/blobs/uploads/", new byte[0]), 507, "UNAVAILABLE");
        volume.fillUp();
        JsonNode tag = assertError(http.send("PUT", "/v2/" + REPO + "/manifests/v2", v1.content(), "Content-Type", HttpFixture.OCI_MANIFEST),
                507, "UNAVAILABLE");
        assertThat(tag.get("detail").asText()).contains("No space left on device");

        assertReadsWork(v1);
        assertThat(HttpFixture.json(http.get("/v2/" + REPO + "/tags/list").body()).get("tags").toString()).isEqualTo("[\"v1\"]");
        assertThat(http.get("/v2/" + REPO + "/blobs/" + sha256(blob)).statusCode()).isEqualTo(404);

        volume.free(filler);
        assertThat(http.pushBlob(REPO, blob)).isEqualTo(sha256(blob));
        http.putManifest(REPO, "v2", HttpFixture.json(v1.content()).deepCopy());
        assertThat(HttpFixture.json(http.get("/v2/" + REPO + "/tags/list").body()).get("tags").toString()).isEqualTo("[\"v1\",\"v2\"]");
    }

    @Test
    void anUploadThatRunsOutOfSpaceMidStreamIs507AndResumesFromTheOffsetItReports() throws IOException {
        byte[] content = random(10 << 20, 2);
        String location = http.startUpload(REPO);
        Path filler = volume.fill(3 << 20);

        JsonNode full = assertError(http.send("PATCH", location, content, "Content-Type", "application/octet-stream"), 507, "UNAVAILABLE");
        assertThat(full.get("detail").asText()).contains("No space left on device");

        HttpResponse<byte[]> status = http.get(location);
        assertThat(status.statusCode()).isEqualTo(204);
        int kept = Math.toIntExact(Long.parseLong(header(status, "Range").substring(2)) + 1);
        assertThat(kept).isBetween(1, content.length - 1);

        volume.free(filler);
        HttpResponse<byte[]> rest = http.send("PATCH", location, Arrays.copyOfRange(content, kept, content.length),
                "Content-Type", "application/octet-stream", "Content-Range", kept + "-" + (content.length - 1));
        assertThat(rest.statusCode()).as(RegistryClient.text(rest)).isEqualTo(202);
        HttpResponse<byte[]> done = http.send("PUT", commit(location) + "digest=" + sha256(content), new byte[0]);
        assertThat(done.statusCode()).as(RegistryClient.text(done)).isEqualTo(201);
        assertThat(http.get("/v2/" + REPO + "/blobs/" + sha256(content)).body()).isEqualTo(content);
    }

    @Test
    void aReadOnlyRemountAnswers500WithJsonWhileReadsGoOnAndWritesReturnWithReadWrite() throws IOException {
        HttpFixture.Manifest v1 = http.pushImage(REPO, "base", "v1");
        byte[] content = random(200_000, 3);
        String location = http.startUpload(REPO);
        assertThat(http.send("PATCH", location, Arrays.copyOf(content, 1000), "Content-Type", "application/octet-stream").statusCode()).isEqualTo(202);

        volume.remount("ro");
        try {
            JsonNode patch = assertError(http.send("PATCH", location, Arrays.copyOfRange(content, 1000, content.length),
                    "Content-Type", "application/octet-stream", "Content-Range", "1000-" + (content.length - 1)), 500, "UNKNOWN");
            assertThat(patch.get("detail").asText()).contains("Read-only file system");
            assertError(http.send("POST", "/v2/" + REPO + "/blobs/uploads/", new byte[0]), 500, "UNKNOWN");
            JsonNode tag = assertError(http.send("PUT", "/v2/" + REPO + "/manifests/v2", v1.content(), "Content-Type", HttpFixture.OCI_MANIFEST),
                    500, "UNKNOWN");
            assertThat(tag.get("detail").asText()).contains("Read-only file system");

            assertReadsWork(v1);
            assertThat(header(http.get(location), "Range")).isEqualTo("0-999");
        } finally {
            volume.remount("rw");
        }

        HttpResponse<byte[]> rest = http.send("PATCH", location, Arrays.copyOfRange(content, 1000, content.length),
                "Content-Type", "application/octet-stream", "Content-Range", "1000-" + (content.length - 1));
        assertThat(rest.statusCode()).as(RegistryClient.text(rest)).isEqualTo(202);
        assertThat(http.send("PUT", commit(location) + "digest=" + sha256(content), new byte[0]).statusCode()).isEqualTo(201);
        http.putManifest(REPO, "v2", HttpFixture.json(v1.content()).deepCopy());
    }

    private void assertReadsWork(HttpFixture.Manifest v1) {
        assertThat(http.get("/v2/").statusCode()).isEqualTo(200);
        HttpResponse<byte[]> manifest = http.get("/v2/" + REPO + "/manifests/v1", "Accept", HttpFixture.OCI_MANIFEST);
        assertThat(manifest.statusCode()).isEqualTo(200);
        assertThat(manifest.body()).isEqualTo(v1.content());
        JsonNode layer = HttpFixture.json(v1.content()).get("layers").get(0);
        HttpResponse<byte[]> blob = http.get("/v2/" + REPO + "/blobs/" + layer.get("digest").asText());
        assertThat(blob.statusCode()).isEqualTo(200);
        assertThat(blob.body()).hasSize(layer.get("size").asInt());
    }

    private static String commit(String location) {
        return location + (location.contains("?") ? "&" : "?");
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }
}
