package io.berth.conformance;

import static io.berth.conformance.RoundTripContent.V2;
import static io.berth.conformance.RoundTripContent.assertSameContent;
import static io.berth.conformance.RoundTripContent.blobPath;
import static io.berth.conformance.RoundTripContent.crane;
import static io.berth.conformance.RoundTripContent.craneDigest;
import static io.berth.conformance.RoundTripContent.pushImage;
import static io.berth.conformance.RoundTripContent.pushMultiArch;
import static io.berth.conformance.RoundTripContent.pushReferrer;
import static io.berth.conformance.RoundTripContent.read;
import static io.berth.conformance.RoundTripContent.storedBlobs;
import static io.berth.conformance.RoundTripContent.tree;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.conformance.RoundTripContent.MultiArch;
import io.berth.conformance.RoundTripContent.Snapshot;
import io.berth.testing.RegistryClient;
import io.berth.testing.S3TestServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One bucket, two registries at once: Debian's docker-registry 2.8.2 (registry:2, its s3-aws driver) and Berth on the
 * same bucket and rootdirectory, each serving what the other wrote, byte for byte: tags, manifests by digest, blobs,
 * a multi-arch index, referrers; and Berth's chunked uploads (multipart, with a tail) read back by registry:2.
 */
class S3RoundTripIT {
    private static final String BUCKET = "registry";
    private static final long CHUNK = 5L << 20;

    @TempDir
    static Path work;

    private static S3TestServer s3;

    @BeforeAll
    static void startS3() {
        s3 = S3TestServer.start(work, BUCKET);
    }

    @AfterAll
    static void stopS3() {
        Daemon.closeAll(s3);
    }

    @Test
    void registry2WritesBerthServesAndRegistry2ServesBerthsAdditions(@TempDir Path dir) {
        String root = "r2-writes";
        Layers l = new Layers(dir);
        try (Registry2 r2 = registry2(dir, root); S3Berth berth = berth(dir, root)) {
            String h = r2.hostAndPort();
            RegistryHttp r2Http = new RegistryHttp(h);
            String v1 = pushImage(h + "/rt/app:v1", l.a, l.b);
            crane("tag", h + "/rt/app:v1", "stable");
            pushImage(h + "/rt/app:v2", l.c);
            pushImage(h + "/rt/base:1", l.a);
            MultiArch multi = pushMultiArch(h, h + "/rt/base:1", "rt/multi", "latest", l.amd64, l.arm64);
            String referrer = pushReferrer(r2Http, "rt/app", v1, "sbom of v1, pushed to registry:2");
            List<String> untagged = new ArrayList<>(List.of("rt/app@" + referrer));
            Snapshot written = read(r2Http, untagged);
            assertThat(written.catalog()).containsExactly("rt/app", "rt/base", "rt/multi");
            assertThat(written.tags().get("rt/app")).containsExactly("stable", "v1", "v2");
            assertThat(written.manifests()).containsKeys("rt/multi@" + multi.children().get(0), "rt/multi@" + multi.children().get(1));

            String b = berth.hostAndPort();
            RegistryHttp berthHttp = new RegistryHttp(b);
            assertSameContent(read(berthHttp, untagged), written, "Berth serving registry:2's bucket");
            RoundTripContent.cranePullEverything(b, written, dir.resolve("pulled-from-berth"));

            String v3 = craneDigest("append", "-b", b + "/rt/app:v1", "-f", l.d.toString(), "-t", b + "/rt/app:v3");
            MultiArch next = pushMultiArch(b, b + "/rt/app:v3", "rt/multi", "next", l.amd64b, l.arm64b);
            String referrer3 = pushReferrer(berthHttp, "rt/app", v3, "sbom of v3, pushed to Berth");
            untagged.add("rt/app@" + referrer3);
            Snapshot afterBerth = read(berthHttp, untagged);
            assertThat(afterBerth.tags().get("rt/app")).containsExactly("stable", "v1", "v2", "v3");
            assertThat(afterBerth.tags().get("rt/multi")).containsExactly("latest", "next");
            assertThat(afterBerth.manifests()).containsKey("rt/multi@" + next.children().get(1));
            assertSameContent(read(r2Http, untagged), afterBerth, "registry:2 serving Berth's additions");
            crane("pull", "--format", "oci", h + "/rt/multi:next", dir.resolve("next-from-r2").toString());

            SoftAssertions softly = new SoftAssertions();
            softly.assertThat(referrers(berthHttp, "rt/app", v3)).as("Berth's referrers of v3").containsExactly(referrer3);
            softly.assertThat(referrers(berthHttp, "rt/app", v1))
                    .as("Berth's referrers of rt/app@%s, whose referrer %s registry:2 stored in the bucket", v1, referrer)
                    .containsExactly(referrer);
            softly.assertAll();
        }
    }

    @Test
    void berthWritesRegistry2ServesTheSameKeysItWouldHaveWritten(@TempDir Path dir) {
        String root = "berth-writes";
        Layers l = new Layers(dir);
        try (S3Berth berth = berth(dir, root); Registry2 r2 = registry2(dir, root)) {
            String b = berth.hostAndPort();
            RegistryHttp berthHttp = new RegistryHttp(b);
            String v1 = pushImage(b + "/rt/app:v1", l.a, l.b, l.c);
            crane("tag", b + "/rt/app:v1", "latest");
            pushImage(b + "/rt/base:1", l.a);
            MultiArch multi = pushMultiArch(b, b + "/rt/base:1", "rt/app", "multi", l.amd64, l.arm64);
            String referrer = pushReferrer(berthHttp, "rt/app", v1, "sbom of v1, pushed to Berth");
            List<String> untagged = List.of("rt/app@" + referrer);
            Snapshot written = read(berthHttp, untagged);
            assertThat(written.tags().get("rt/app")).containsExactly("latest", "multi", "v1");
            assertThat(written.manifests()).containsKeys("rt/app@" + multi.children().get(0), "rt/app@" + multi.children().get(1));

            assertSameContent(read(new RegistryHttp(r2.hostAndPort()), untagged), written, "registry:2 serving Berth's bucket");
            RoundTripContent.cranePullEverything(r2.hostAndPort(), written, dir.resolve("pulled-from-registry2"));

            Path volume = rootOf(root);
            String repo = V2 + "repositories/rt/app/";
            String hex = v1.substring("sha256:".length());
            assertThat(tree(volume))
                    .containsEntry(repo + "_manifests/tags/v1/current/link", v1)
                    .containsEntry(repo + "_manifests/tags/v1/index/sha256/" + hex + "/link", v1)
                    .containsEntry(repo + "_manifests/revisions/sha256/" + hex + "/link", v1)
                    .containsEntry(repo + "_manifests/tags/multi/current/link", multi.index())
                    .containsKey(blobPath(v1));
            assertThat(storedBlobs(volume)).containsAll(written.liveDigests());
            assertThat(uploadKeys(volume)).as("upload state left in the bucket after every push finished").isEmpty();
        }
    }

    @Test
    void berthsChunkedUploadsAreReadBackByRegistry2(@TempDir Path dir) {
        String root = "chunked";
        Random random = new Random(10);
        // One PATCH under a part; a whole number of parts; three PATCHes of odd sizes across part boundaries; a
        // monolithic PUT of several parts.
        byte[] small = bytes(random, 70_000);
        byte[] twoParts = bytes(random, (int) (2 * CHUNK));
        byte[] odd = bytes(random, (int) (2 * CHUNK + CHUNK / 2 + 12_345));
        byte[] monolithic = bytes(random, (int) (CHUNK * 3 + 1));
        try (S3Berth berth = berth(dir, root); Registry2 r2 = registry2(dir, root);
                RegistryClient b = berth.client(); RegistryClient r = RegistryClient.of(r2.baseUri())) {
            String repo = "rt/chunked";
            List<String> digests = List.of(
                    chunkedUpload(b, repo, small, small.length),
                    chunkedUpload(b, repo, twoParts, (int) CHUNK),
                    chunkedUpload(b, repo, odd, (int) (CHUNK - 1_000), (int) (CHUNK + 3_000), odd.length),
                    b.pushBlob(repo, monolithic));
            List<byte[]> contents = List.of(small, twoParts, odd, monolithic);
            for (int i = 0; i < digests.size(); i++) {
                String digest = digests.get(i);
                assertThat(digest).isEqualTo(RegistryClient.sha256(contents.get(i)));
                HttpResponse<byte[]> head = RegistryClient.expect(r.head("/v2/" + repo + "/blobs/" + digest), 200);
                assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue(contents.get(i).length);
                HttpResponse<byte[]> got = RegistryClient.expect(r.get("/v2/" + repo + "/blobs/" + digest), 200);
                assertThat(RegistryClient.sha256(got.body())).as("registry:2's GET of Berth's blob %d", i).isEqualTo(digest);
                assertThat(rootOf(root).resolve(blobPath(digest))).as("the blob's object").hasSize(contents.get(i).length);
            }
            assertThat(uploadKeys(rootOf(root))).as("upload state left in the bucket after the uploads finished").isEmpty();
        }
    }

    /**
     * POST, then one PATCH per boundary ({@code ends}: where each PATCH ends), then PUT ?digest= with no body, as a
     * chunked push does; returns the digest.
     */
    private static String chunkedUpload(RegistryClient c, String repo, byte[] content, int... ends) {
        URI location = c.resolve(c.startUpload(repo));
        int from = 0;
        for (int end : ends) {
            byte[] part = java.util.Arrays.copyOfRange(content, from, end);
            HttpResponse<byte[]> r = RegistryClient.expect(c.send("PATCH", location.toString(), part,
                    "Content-Type", "application/octet-stream", "Content-Range", from + "-" + (end - 1)), 202);
            assertThat(r.headers().firstValue("Range")).hasValue("0-" + (end - 1));
            location = c.resolve(r.headers().firstValue("Location").orElseThrow());
            from = end;
        }
        String digest = RegistryClient.sha256(content);
        String sep = location.getRawQuery() == null ? "?" : "&";
        RegistryClient.expect(c.send("PUT", location + sep + "digest=" + digest, null), 201);
        return digest;
    }

    private static byte[] bytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static List<String> referrers(RegistryHttp http, String repo, String subject) {
        RegistryHttp.Response f = http.referrers(repo, subject);
        assertThat(f.status()).as("GET referrers of %s@%s: %s", repo, subject, f.text()).isEqualTo(200);
        List<String> out = new ArrayList<>();
        f.json().path("manifests").forEach(m -> out.add(m.path("digest").asText()));
        return out;
    }

    /** The keys under repositories' {@code _uploads}: none once every upload has finished. */
    private static List<String> uploadKeys(Path volume) {
        return tree(volume).keySet().stream().filter(k -> k.contains("/_uploads/")).toList();
    }

    /** The rootdirectory's objects, as versitygw's posix backend stores them (one file per key). */
    private static Path rootOf(String root) {
        return s3.dir().resolve(BUCKET).resolve(root);
    }

    private static S3Berth berth(Path dir, String root) {
        return S3Berth.start(s3, BUCKET, dir.resolve("berth"), S3Berth.options().rootDirectory(root).chunkSize(CHUNK));
    }

    /** registry:2 (its s3-aws driver, as S3PeerIT runs it) on the same bucket and rootdirectory. */
    static Registry2 registry2(Path dir, String root) {
        int port = Registry2.freePort();
        Path config = dir.resolve("registry2-s3.yml");
        try {
            Files.writeString(config, """
                    version: 0.1
                    log:
                      level: warn
                    storage:
                      s3:
                        region: us-east-1
                        regionendpoint: %s
                        forcepathstyle: true
                        secure: false
                        v4auth: true
                        bucket: %s
                        rootdirectory: /%s
                        accesskey: %s
                        secretkey: %s
                        chunksize: %d
                      delete:
                        enabled: true
                      redirect:
                        disable: true
                    http:
                      addr: 127.0.0.1:%d
                    """.formatted(s3.endpoint(), BUCKET, root, s3.accessKey(), s3.secretKey(), CHUNK, port));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Registry2.serveConfig(config, "127.0.0.1:" + port, "AWS_CA_BUNDLE");
    }

    /** Seeded layers. */
    private static final class Layers {
        final Path a;
        final Path b;
        final Path c;
        final Path d;
        final Path amd64;
        final Path arm64;
        final Path amd64b;
        final Path arm64b;

        Layers(Path work) {
            a = TestImages.randomLayer(work, "a", 3000, 1);
            b = TestImages.randomLayer(work, "b", 300_000, 2);
            c = TestImages.randomLayer(work, "c", 7000, 3);
            d = TestImages.randomLayer(work, "d", 2000, 4);
            amd64 = TestImages.randomLayer(work, "amd64", 1500, 5);
            arm64 = TestImages.randomLayer(work, "arm64", 1600, 6);
            amd64b = TestImages.randomLayer(work, "amd64b", 1700, 7);
            arm64b = TestImages.randomLayer(work, "arm64b", 1800, 8);
        }
    }
}
