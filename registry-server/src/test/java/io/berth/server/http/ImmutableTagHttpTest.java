package io.berth.server.http;

import static io.berth.server.http.HttpFixture.assertError;
import static io.berth.server.http.HttpFixture.bytes;
import static io.berth.server.http.HttpFixture.header;
import static io.berth.server.http.HttpFixture.utf8;
import static io.berth.testing.RegistryClient.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.testing.RegistryClient;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Immutable tags over real HTTP: racing pushes cannot move them, and nothing they reach (an index's child manifests,
 * the config and layers) can be deleted while they stand.
 */
class ImmutableTagHttpTest {
    private static final String REPO = "release/app";
    private static final int PUSHERS = 8;
    private static final int TAGS = 50;

    @TempDir
    static Path dir;
    private static HttpFixture http;
    private static ExecutorService pool;

    @BeforeAll
    static void start() {
        http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", """
                berth:
                  immutableTags:
                    - repositories: ["release/**"]
                      tags: ["v*"]
                """);
        pool = Executors.newFixedThreadPool(PUSHERS);
    }

    @AfterAll
    static void stop() {
        pool.shutdownNow();
        http.close();
    }

    @Test
    void concurrentPushesOfDifferentManifestsToAnImmutableTagLetExactlyOneWin() throws Exception {
        ObjectNode base = http.imageJson(REPO, "race");
        List<byte[]> manifests = new ArrayList<>();
        for (int i = 0; i < PUSHERS; i++) {
            ObjectNode m = base.deepCopy();
            m.putObject("annotations").put("pusher", Integer.toString(i));
            manifests.add(bytes(m));
        }
        for (int t = 0; t < TAGS; t++) {
            String tag = "v1.0." + t;
            List<HttpResponse<byte[]>> answers = all(manifests.stream()
                    .<Supplier<HttpResponse<byte[]>>>map(m -> () -> put(tag, m)).toList());

            List<HttpResponse<byte[]>> won = answers.stream().filter(r -> r.statusCode() == 201).toList();
            assertThat(won).as("pushes that won tag %s", tag).hasSize(1);
            for (HttpResponse<byte[]> r : answers) {
                if (r != won.get(0)) {
                    assertError(r, 403, "DENIED");
                    assertThat(text(r)).contains(tag).contains("immutable");
                }
            }
            assertThat(header(http.get("/v2/" + REPO + "/manifests/" + tag), "Docker-Content-Digest"))
                    .as("tag %s ends at the winner", tag).isEqualTo(header(won.get(0), "Docker-Content-Digest"));
        }
    }

    @Test
    void theChildrenAndBlobsOfAnIndexBehindAnImmutableTagCannotBeDeleted() {
        HttpFixture.Manifest amd = pushChild("amd64");
        HttpFixture.Manifest arm = pushChild("arm64");
        String config = http.imageJson(REPO, "amd64").get("config").get("digest").asText();
        String layer = http.imageJson(REPO, "arm64").get("layers").get(0).get("digest").asText();
        http.putManifest(REPO, "v2.0", index(amd, arm));

        HttpResponse<byte[]> child = http.send("DELETE", "/v2/" + REPO + "/manifests/" + arm.digest(), null);
        assertThat(text(child)).contains("v2.0").contains("immutable").contains(arm.digest());
        assertError(child, 403, "DENIED");
        assertError(http.send("DELETE", "/v2/" + REPO + "/blobs/" + config, null), 403, "DENIED");
        HttpResponse<byte[]> blob = http.send("DELETE", "/v2/" + REPO + "/blobs/" + layer, null);
        assertThat(text(blob)).contains("v2.0").contains("berth.immutableTags[0]").contains(layer);
        assertError(blob, 403, "DENIED");

        for (String ref : new String[] {"v2.0", amd.digest(), arm.digest()}) {
            assertThat(http.get("/v2/" + REPO + "/manifests/" + ref).statusCode()).as(ref).isEqualTo(200);
        }
        for (String b : new String[] {config, layer}) {
            assertThat(http.get("/v2/" + REPO + "/blobs/" + b).statusCode()).as(b).isEqualTo(200);
        }
    }

    @Test
    void theBlobsOfAnImageBehindAnImmutableTagCannotBeDeletedButAMutableTagsCan() {
        HttpFixture.Manifest image = http.pushImage(REPO, "plain", "v3.0");
        String layer = http.imageJson(REPO, "plain").get("layers").get(0).get("digest").asText();
        assertError(http.send("DELETE", "/v2/" + REPO + "/blobs/" + layer, null), 403, "DENIED");
        assertThat(http.get("/v2/" + REPO + "/manifests/" + image.digest()).statusCode()).isEqualTo(200);

        http.pushImage(REPO, "mutable", "dev");
        String mutableLayer = http.imageJson(REPO, "mutable").get("layers").get(0).get("digest").asText();
        assertThat(http.send("DELETE", "/v2/" + REPO + "/blobs/" + mutableLayer, null).statusCode()).isEqualTo(202);
    }

    @Test
    void aDeleteOfAChildRacingAPushOfItsIndexNeverLeavesAnImmutableTagOnAMissingChild() throws Exception {
        for (int round = 0; round < 30; round++) {
            HttpFixture.Manifest child = pushChild("racing child " + round);
            String tag = "v4." + round;
            byte[] index = bytes(index(child));
            List<HttpResponse<byte[]>> answers = all(List.of(
                    () -> http.send("PUT", "/v2/" + REPO + "/manifests/" + tag, index, "Content-Type", HttpFixture.OCI_INDEX),
                    () -> http.send("DELETE", "/v2/" + REPO + "/manifests/" + child.digest(), null)));
            HttpResponse<byte[]> push = answers.get(0);
            HttpResponse<byte[]> delete = answers.get(1);

            if (push.statusCode() == 201) {
                assertError(delete, 403, "DENIED");
                assertThat(http.get("/v2/" + REPO + "/manifests/" + child.digest()).statusCode())
                        .as("round %d: the child of %s", round, tag).isEqualTo(200);
            } else {
                assertThat(delete.statusCode()).as("round %d: %s", round, text(delete)).isEqualTo(202);
                assertError(push, 400, "MANIFEST_BLOB_UNKNOWN");
                assertError(http.get("/v2/" + REPO + "/manifests/" + tag), 404, "MANIFEST_UNKNOWN");
            }
        }
    }

    private HttpFixture.Manifest pushChild(String seed) {
        return http.putManifest(REPO, RegistryClient.sha256(bytes(http.imageJson(REPO, seed))), http.imageJson(REPO, seed));
    }

    private static ObjectNode index(HttpFixture.Manifest... children) {
        ObjectNode index = HttpFixture.JSON.createObjectNode();
        index.put("schemaVersion", 2);
        index.put("mediaType", HttpFixture.OCI_INDEX);
        for (HttpFixture.Manifest c : children) {
            index.withArray("manifests").add(c.descriptor());
        }
        return index;
    }

    private static HttpResponse<byte[]> put(String tag, byte[] manifest) {
        return http.send("PUT", "/v2/" + REPO + "/manifests/" + tag, manifest, "Content-Type", HttpFixture.OCI_MANIFEST);
    }

    /** Runs every request at once, released together, and returns the answers in order. */
    private static List<HttpResponse<byte[]>> all(List<Supplier<HttpResponse<byte[]>>> requests) throws Exception {
        CountDownLatch ready = new CountDownLatch(requests.size());
        CountDownLatch go = new CountDownLatch(1);
        List<Future<HttpResponse<byte[]>>> futures = new ArrayList<>();
        for (Supplier<HttpResponse<byte[]>> request : requests) {
            futures.add(pool.submit(() -> {
                ready.countDown();
                go.await();
                return request.get();
            }));
        }
        ready.await();
        go.countDown();
        List<HttpResponse<byte[]>> out = new ArrayList<>();
        for (Future<HttpResponse<byte[]>> f : futures) {
            out.add(f.get());
        }
        return out;
    }
}
