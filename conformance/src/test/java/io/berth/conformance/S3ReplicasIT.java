package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.conformance.S3Replicas.Replica;
import io.berth.testing.RegistryClient;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Three stateless Berth replicas on one S3 bucket (issue 10), as a Deployment behind a load balancer with no
 * stickiness runs them: each request of a flow goes to another replica than the one before. An upload's chunks land on
 * different replicas and commit to the right bytes; a tag, a delete, a new repository or a referrer written through one
 * replica is what the next one serves at once (read-your-writes); an immutable tag pushed concurrently through two
 * replicas has exactly one winner that every replica agrees on. {@link S3ReplicaKillIT} kills a replica mid-upload,
 * {@link S3ReplicaClientsIT} puts nginx in front with real clients, and {@link S3ReplicaSignaturesIT} checks admission
 * verdicts across replicas.
 */
class S3ReplicasIT {
    static final String OCI_MANIFEST = RegistryHttp.OCI_MANIFEST;
    static final String OCI_INDEX = RegistryHttp.OCI_INDEX;
    private static final int PUSHERS = 16;

    @TempDir
    static Path work;

    private static S3Replicas replicas;
    private static Replica[] r;
    private static ExecutorService pool;

    @BeforeAll
    static void start() {
        replicas = S3Replicas.start(work, 3, """
                berth:
                  immutableTags:
                    - repositories: ["immutable/**"]
                      tags: ["v*"]
                """);
        r = replicas.all().toArray(Replica[]::new);
        pool = Executors.newFixedThreadPool(PUSHERS);
    }

    @AfterAll
    static void stop() {
        if (pool != null) {
            pool.shutdownNow();
        }
        Daemon.closeAll(replicas);
    }

    // ---- uploads

    static Stream<Arguments> chunkPlans() {
        int part = S3Replicas.CHUNK_SIZE;
        return Stream.of(
                Arguments.of("tiny chunks, never a whole part", new int[] {1, 100, 7}),
                Arguments.of("chunks larger than a part", new int[] {part + 3, 2 * part + 1, 17}),
                Arguments.of("tiny, just under a part, tiny, over a part", new int[] {10, part - 1, 2, part + 5}),
                Arguments.of("an empty last chunk", new int[] {part, 3, 0}));
    }

    /**
     * POST on A, each PATCH on the next replica (B, C, A…), the status read on yet another, the PUT with the last chunk on
     * B, the blob read from C: the bytes and digest are the client's, however the chunks fall on S3's parts.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkPlans")
    void aChunkedUploadWhoseRequestsLandOnThreeReplicasCommitsExactlyItsBytes(String plan, int[] chunks) {
        String repo = "uploads/spread";
        byte[] content = random(Arrays.stream(chunks).sum(), plan.hashCode());
        String digest = RegistryClient.sha256(content);
        String location = r[0].client().startUpload(repo);
        int offset = 0;
        for (int i = 0; i < chunks.length - 1; i++) {
            Replica to = r[(i + 1) % 3];
            byte[] chunk = Arrays.copyOfRange(content, offset, offset + chunks[i]);
            HttpResponse<byte[]> patch = to.client().send("PATCH", path(location), chunk, "Content-Type", "application/octet-stream",
                    "Content-Range", offset + "-" + (offset + chunk.length - 1));
            RegistryClient.expect(patch, 202);
            offset += chunk.length;
            assertThat(patch.headers().firstValue("Range")).as("Range after PATCH %d on %s", i, to).hasValue("0-" + (offset - 1));
            location = patch.headers().firstValue("Location").orElseThrow();
            Replica other = r[(i + 2) % 3];
            assertThat(status(other, location)).as("Range read on %s right after PATCH %d on %s", other, i, to).isEqualTo("0-" + (offset - 1));
        }
        assertThat(status(r[0], location)).as("Range read on %s before the PUT", r[0]).isEqualTo("0-" + (offset - 1));

        byte[] last = Arrays.copyOfRange(content, offset, content.length);
        HttpResponse<byte[]> put = r[1].client().send("PUT", withDigest(location, digest), last, "Content-Type", "application/octet-stream");
        RegistryClient.expect(put, 201);
        assertThat(put.headers().firstValue("Docker-Content-Digest")).hasValue(digest);

        HttpResponse<byte[]> blob = RegistryClient.expect(r[2].client().get("/v2/" + repo + "/blobs/" + digest), 200);
        assertThat(RegistryClient.sha256(blob.body())).as("digest of the bytes %s serves", r[2]).isEqualTo(digest);
        assertThat(blob.body()).as("the bytes %s serves", r[2]).isEqualTo(content);
        HttpResponse<byte[]> head = RegistryClient.expect(r[0].client().head("/v2/" + repo + "/blobs/" + digest), 200);
        assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue(content.length);
        assertError(r[0].client().get(path(location)), 404, "BLOB_UPLOAD_UNKNOWN");
    }

    /**
     * The same chunk PATCHed to one upload through two replicas at once: one writes it, the other is refused (the upload
     * is held by the first, or no longer at the offset the chunk claims), and the upload holds the chunk once.
     */
    @Test
    void aChunkSentToOneUploadThroughTwoReplicasAtOnceIsWrittenOnce() throws Exception {
        String repo = "uploads/contended";
        for (int round = 0; round < 3; round++) {
            byte[] chunk = random(S3Replicas.CHUNK_SIZE + 1000 * round, round);
            String location = r[0].client().startUpload(repo);
            String range = "0-" + (chunk.length - 1);
            List<HttpResponse<byte[]>> answers = together(List.of(
                    () -> r[1].client().send("PATCH", path(location), chunk, "Content-Type", "application/octet-stream", "Content-Range", range),
                    () -> r[2].client().send("PATCH", path(location), chunk, "Content-Type", "application/octet-stream", "Content-Range", range)));
            List<HttpResponse<byte[]>> wrote = answers.stream().filter(a -> a.statusCode() == 202).toList();
            assertThat(wrote).as("round %d: PATCHes that wrote: %s", round, answers.stream().map(S3ReplicasIT::describe).toList()).hasSize(1);
            HttpResponse<byte[]> refused = answers.get(answers.get(0) == wrote.get(0) ? 1 : 0);
            JsonNode error = assertError(refused, refused.statusCode(), refused.statusCode() == 416 ? "RANGE_INVALID" : "BLOB_UPLOAD_INVALID");
            assertThat(refused.statusCode()).as("round %d: %s", round, error).isIn(400, 416);

            assertThat(status(r[0], location)).as("round %d: the upload's Range", round).isEqualTo(range);
            String digest = RegistryClient.sha256(chunk);
            RegistryClient.expect(r[0].client().send("PUT", withDigest(location, digest), null), 201);
            assertThat(RegistryClient.expect(r[1].client().get("/v2/" + repo + "/blobs/" + digest), 200).body()).isEqualTo(chunk);
        }
    }

    // ---- read-your-writes

    @Test
    void aTagMovedThroughOneReplicaIsServedWithItsNewDigestByTheNextAtOnce() {
        String repo = "ryw/moving";
        Image image = Image.push(r[0], repo);
        for (int i = 0; i < 50; i++) {
            Replica writer = r[i % 3];
            Replica reader = r[(i + 1) % 3];
            String tag = "t" + i % 4;
            byte[] manifest = image.manifest("round " + i);
            String digest = writer.client().putManifest(repo, tag, OCI_MANIFEST, manifest);
            HttpResponse<byte[]> get = RegistryClient.expect(reader.client().get("/v2/" + repo + "/manifests/" + tag, "Accept", OCI_MANIFEST), 200);
            assertThat(get.headers().firstValue("Docker-Content-Digest")).as("round %d: %s:%s on %s, pushed through %s", i, repo, tag, reader, writer)
                    .hasValue(digest);
            assertThat(get.body()).isEqualTo(manifest);
            Replica third = r[(i + 2) % 3];
            HttpResponse<byte[]> head = RegistryClient.expect(third.client().head("/v2/" + repo + "/manifests/" + tag, "Accept", OCI_MANIFEST), 200);
            assertThat(head.headers().firstValue("Docker-Content-Digest")).as("round %d: HEAD on %s", i, third).hasValue(digest);
        }
        for (Replica each : r) {
            assertThat(each.http().tags(repo)).as("tags on %s", each).containsExactlyInAnyOrder("t0", "t1", "t2", "t3");
        }
    }

    @Test
    void aTagOrManifestDeletedThroughOneReplicaIsGoneOnTheOthersAtOnce() {
        String repo = "ryw/deleted";
        Image image = Image.push(r[0], repo);
        r[0].client().putManifest(repo, "kept", OCI_MANIFEST, image.manifest("kept"));
        for (int i = 0; i < 10; i++) {
            Replica writer = r[i % 3];
            Replica reader = r[(i + 1) % 3];
            Replica third = r[(i + 2) % 3];
            String tag = "gone-" + i;
            String digest = writer.client().putManifest(repo, tag, OCI_MANIFEST, image.manifest("deleted " + i));
            RegistryClient.expect(reader.client().get("/v2/" + repo + "/manifests/" + tag), 200);

            RegistryClient.expect(writer.client().send("DELETE", "/v2/" + repo + "/manifests/" + tag, null), 202);
            assertError(reader.client().get("/v2/" + repo + "/manifests/" + tag, "Accept", OCI_MANIFEST), 404, "MANIFEST_UNKNOWN");
            assertThat(third.http().tags(repo)).as("round %d: tags on %s", i, third).doesNotContain(tag).contains("kept");
            RegistryClient.expect(third.client().get("/v2/" + repo + "/manifests/" + digest, "Accept", OCI_MANIFEST), 200);

            RegistryClient.expect(reader.client().send("DELETE", "/v2/" + repo + "/manifests/" + digest, null), 202);
            assertError(third.client().get("/v2/" + repo + "/manifests/" + digest, "Accept", OCI_MANIFEST), 404, "MANIFEST_UNKNOWN");
            assertError(writer.client().head("/v2/" + repo + "/manifests/" + digest, "Accept", OCI_MANIFEST), 404, null);
        }
    }

    @Test
    void aRepositoryAndAReferrerPushedThroughOneReplicaAreListedByTheOthersAtOnce() {
        for (int i = 0; i < 6; i++) {
            Replica writer = r[i % 3];
            Replica reader = r[(i + 1) % 3];
            String repo = "ryw/new-" + i;
            Image image = Image.push(writer, repo);
            byte[] subject = image.manifest("subject");
            String subjectDigest = writer.client().putManifest(repo, "v1", OCI_MANIFEST, subject);
            assertThat(reader.http().catalog()).as("round %d: the catalog on %s", i, reader).contains(repo);

            byte[] referrer = image.referrer(subjectDigest, subject.length, "sbom " + i);
            String referrerDigest = RegistryClient.sha256(referrer);
            writer.client().putManifest(repo, referrerDigest, OCI_MANIFEST, referrer);
            assertThat(referrers(reader, repo, subjectDigest)).as("round %d: referrers on %s", i, reader).containsExactly(referrerDigest);

            RegistryClient.expect(reader.client().send("DELETE", "/v2/" + repo + "/manifests/" + referrerDigest, null), 202);
            Replica third = r[(i + 2) % 3];
            assertThat(referrers(third, repo, subjectDigest)).as("round %d: referrers on %s after the delete", i, third).isEmpty();
        }
    }

    // ---- immutable tags

    @Test
    void concurrentPushesOfOneImmutableTagThroughTwoReplicasLetExactlyOneWinAndEveryReplicaAgrees() throws Exception {
        String repo = "immutable/race";
        Image image = Image.push(r[0], repo);
        for (int round = 0; round < 5; round++) {
            String tag = "v1." + round;
            List<Supplier<HttpResponse<byte[]>>> pushes = new ArrayList<>();
            for (int i = 0; i < PUSHERS; i++) {
                Replica via = r[i % 2];
                byte[] manifest = image.manifest("round " + round + " pusher " + i);
                pushes.add(() -> via.client().send("PUT", "/v2/" + repo + "/manifests/" + tag, manifest, "Content-Type", OCI_MANIFEST));
            }
            List<HttpResponse<byte[]>> answers = together(pushes);

            List<HttpResponse<byte[]>> won = answers.stream().filter(a -> a.statusCode() == 201).toList();
            assertThat(won).as("round %d: pushes of %s that won: %s", round, tag, answers.stream().map(S3ReplicasIT::describe).toList()).hasSize(1);
            String winner = won.get(0).headers().firstValue("Docker-Content-Digest").orElseThrow();
            for (HttpResponse<byte[]> a : answers) {
                if (a != won.get(0)) {
                    assertError(a, 403, "DENIED");
                    assertThat(RegistryClient.text(a)).contains(tag).contains("immutable");
                }
            }
            for (Replica each : r) {
                HttpResponse<byte[]> get = RegistryClient.expect(each.client().get("/v2/" + repo + "/manifests/" + tag, "Accept", OCI_MANIFEST), 200);
                assertThat(get.headers().firstValue("Docker-Content-Digest")).as("round %d: %s on %s", round, tag, each).hasValue(winner);
            }
        }
    }

    /**
     * An index pushed to an immutable tag through A protects its child; a DELETE of the child through B at the same time
     * either loses (403, the child stays) or wins (202, and then the push fails as its child is missing): never an
     * immutable tag on a missing manifest, on any replica.
     */
    @Test
    void aDeleteThroughOneReplicaRacingAnImmutableTagsPushThroughAnotherNeverLeavesTheTagOnAMissingChild() throws Exception {
        String repo = "immutable/delete-race";
        Image image = Image.push(r[0], repo);
        int pushesWon = 0;
        for (int round = 0; round < 12; round++) {
            byte[] child = image.manifest("child " + round);
            String childDigest = RegistryClient.sha256(child);
            r[0].client().putManifest(repo, childDigest, OCI_MANIFEST, child);
            String tag = "v4." + round;
            byte[] index = Image.index(childDigest, child.length);
            Replica pusher = r[round % 3];
            Replica deleter = r[(round + 1) % 3];
            List<HttpResponse<byte[]>> answers = together(List.of(
                    () -> pusher.client().send("PUT", "/v2/" + repo + "/manifests/" + tag, index, "Content-Type", OCI_INDEX),
                    () -> deleter.client().send("DELETE", "/v2/" + repo + "/manifests/" + childDigest, null)));
            HttpResponse<byte[]> push = answers.get(0);
            HttpResponse<byte[]> delete = answers.get(1);
            if (push.statusCode() == 201) {
                pushesWon++;
                assertError(delete, 403, "DENIED");
                for (Replica each : r) {
                    RegistryClient.expect(each.client().get("/v2/" + repo + "/manifests/" + childDigest, "Accept", OCI_MANIFEST), 200);
                    RegistryClient.expect(each.client().get("/v2/" + repo + "/manifests/" + tag, "Accept", OCI_INDEX), 200);
                }
            } else {
                assertThat(delete.statusCode()).as("round %d: %s", round, describe(delete)).isEqualTo(202);
                assertError(push, 400, "MANIFEST_BLOB_UNKNOWN");
                for (Replica each : r) {
                    assertError(each.client().get("/v2/" + repo + "/manifests/" + tag, "Accept", OCI_INDEX), 404, "MANIFEST_UNKNOWN");
                }
            }
        }
        // A tagged index's child is protected from then on, whichever replica is asked.
        assertThat(pushesWon).as("rounds the push won").isPositive();
    }

    // ---- helpers

    /** Runs {@code calls} at once (lined up on a barrier), returning their answers in order. */
    static List<HttpResponse<byte[]>> together(List<Supplier<HttpResponse<byte[]>>> calls) throws Exception {
        CyclicBarrier start = new CyclicBarrier(calls.size());
        List<Future<HttpResponse<byte[]>>> futures = new ArrayList<>();
        for (Supplier<HttpResponse<byte[]>> call : calls) {
            futures.add(pool.submit(() -> {
                start.await();
                return call.get();
            }));
        }
        List<HttpResponse<byte[]>> out = new ArrayList<>();
        for (Future<HttpResponse<byte[]>> f : futures) {
            out.add(f.get());
        }
        return out;
    }

    private static List<String> referrers(Replica on, String repo, String subject) {
        HttpResponse<byte[]> r = RegistryClient.expect(on.client().get("/v2/" + repo + "/referrers/" + subject), 200);
        List<String> out = new ArrayList<>();
        RegistryHttp.json(r.body()).path("manifests").forEach(d -> out.add(d.path("digest").asText()));
        return out;
    }

    /** The Range of an upload's status, read on {@code on} (204). */
    static String status(Replica on, String location) {
        HttpResponse<byte[]> s = RegistryClient.expect(on.client().get(path(location)), 204);
        return s.headers().firstValue("Range").orElseThrow(() -> new AssertionError("no Range in the status from " + on));
    }

    /** The path and query of a Location (relative, or absolute naming the replica that answered), to send to any replica. */
    static String path(String location) {
        URI u = URI.create(location);
        return u.getRawPath() + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
    }

    static String withDigest(String location, String digest) {
        String p = path(location);
        return p + (p.contains("?") ? "&" : "?") + "digest=" + digest;
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    static String describe(HttpResponse<byte[]> a) {
        return a.statusCode() + " " + a.request().method() + " " + a.request().uri() + " " + RegistryClient.text(a);
    }

    /** The spec's error shape: {@code status} and, unless {@code code} is null (a HEAD), one error of {@code code}. */
    static JsonNode assertError(HttpResponse<byte[]> a, int status, String code) {
        assertThat(a.statusCode()).as("status of %s", describe(a)).isEqualTo(status);
        if (code == null) {
            return RegistryHttp.JSON.nullNode();
        }
        assertThat(a.headers().firstValue("Content-Type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
        JsonNode errors = RegistryHttp.json(a.body()).path("errors");
        assertThat(errors).as("errors of %s", describe(a)).hasSize(1);
        assertThat(errors.get(0).path("code").asText()).as("code of %s", describe(a)).isEqualTo(code);
        assertThat(errors.get(0).path("message").asText()).isNotBlank();
        return errors.get(0);
    }

    /** A config and a layer pushed to a repository, and manifests of them told apart by an annotation. */
    record Image(String config, int configSize, String layer, int layerSize) {
        static Image push(Replica via, String repo) {
            byte[] config = ("{\"repo\":\"" + repo + "\"}").getBytes(StandardCharsets.UTF_8);
            byte[] layer = ("a layer of " + repo).getBytes(StandardCharsets.UTF_8);
            return new Image(via.client().pushBlob(repo, config), config.length, via.client().pushBlob(repo, layer), layer.length);
        }

        byte[] manifest(String note) {
            ObjectNode m = RegistryHttp.JSON.createObjectNode();
            m.put("schemaVersion", 2);
            m.put("mediaType", OCI_MANIFEST);
            m.putObject("config").put("mediaType", "application/vnd.oci.image.config.v1+json").put("digest", config).put("size", configSize);
            m.putArray("layers").addObject().put("mediaType", "application/vnd.oci.image.layer.v1.tar").put("digest", layer).put("size", layerSize);
            m.putObject("annotations").put("berth.test", note);
            return m.toString().getBytes(StandardCharsets.UTF_8);
        }

        /** An artifact whose subject is the manifest {@code subject}. */
        byte[] referrer(String subject, int subjectSize, String note) {
            ObjectNode m = RegistryHttp.JSON.createObjectNode();
            m.put("schemaVersion", 2);
            m.put("mediaType", OCI_MANIFEST);
            m.put("artifactType", "application/vnd.berth.test.sbom");
            m.putObject("config").put("mediaType", "application/vnd.oci.image.config.v1+json").put("digest", config).put("size", configSize);
            m.putArray("layers").addObject().put("mediaType", "text/plain").put("digest", layer).put("size", layerSize);
            m.putObject("subject").put("mediaType", OCI_MANIFEST).put("digest", subject).put("size", subjectSize);
            m.putObject("annotations").put("berth.test", note);
            return m.toString().getBytes(StandardCharsets.UTF_8);
        }

        static byte[] index(String child, int childSize) {
            ObjectNode index = RegistryHttp.JSON.createObjectNode();
            index.put("schemaVersion", 2);
            index.put("mediaType", OCI_INDEX);
            index.putArray("manifests").addObject().put("mediaType", OCI_MANIFEST).put("digest", child).put("size", childSize);
            return index.toString().getBytes(StandardCharsets.UTF_8);
        }
    }
}
