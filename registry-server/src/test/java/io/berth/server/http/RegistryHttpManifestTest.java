package io.berth.server.http;

import static io.berth.server.http.HttpFixture.assertError;
import static io.berth.server.http.HttpFixture.bytes;
import static io.berth.server.http.HttpFixture.header;
import static io.berth.server.http.HttpFixture.json;
import static io.berth.server.http.HttpFixture.utf8;
import static io.berth.testing.RegistryClient.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** Manifest and referrers endpoints against a real Berth. */
class RegistryHttpManifestTest extends SharedBerthTest {
    private static String newRepo() {
        return newRepo("manifests/test");
    }

    @Test
    void putByTagThenGetAndHead() {
        String repo = newRepo();
        byte[] content = bytes(http.imageJson(repo, "img"));

        HttpResponse<byte[]> put = http.send("PUT", "/v2/" + repo + "/manifests/latest", content, "Content-Type", HttpFixture.OCI_MANIFEST);
        assertThat(put.statusCode()).isEqualTo(201);
        String digest = sha256(content);
        assertThat(header(put, "Docker-Content-Digest")).isEqualTo(digest);
        assertThat(header(put, "Location")).endsWith("/v2/" + repo + "/manifests/" + digest);

        for (String ref : new String[] {"latest", digest}) {
            HttpResponse<byte[]> get = http.get("/v2/" + repo + "/manifests/" + ref, "Accept", HttpFixture.OCI_MANIFEST);
            assertThat(get.statusCode()).isEqualTo(200);
            assertThat(get.body()).isEqualTo(content);
            assertThat(header(get, "Content-Type")).isEqualTo(HttpFixture.OCI_MANIFEST);
            assertThat(header(get, "Docker-Content-Digest")).isEqualTo(digest);

            HttpResponse<byte[]> head = http.head("/v2/" + repo + "/manifests/" + ref);
            assertThat(head.statusCode()).isEqualTo(200);
            assertThat(head.body()).isEmpty();
            assertThat(header(head, "Content-Length")).isEqualTo(Integer.toString(content.length));
            assertThat(header(head, "Docker-Content-Digest")).isEqualTo(digest);
        }
    }

    @Test
    void putByDigestWithSeveralTagQueryParameters() {
        String repo = newRepo();
        byte[] content = bytes(http.imageJson(repo, "tagged twice"));
        String digest = sha256(content);

        HttpResponse<byte[]> put = http.send("PUT", "/v2/" + repo + "/manifests/" + digest + "?tag=a&tag=b", content,
                "Content-Type", HttpFixture.OCI_MANIFEST);

        assertThat(put.statusCode()).isEqualTo(201);
        assertThat(put.headers().allValues("OCI-Tag")).containsExactlyInAnyOrder("a", "b");
        assertThat(header(http.get("/v2/" + repo + "/manifests/a"), "Docker-Content-Digest")).isEqualTo(digest);
        assertThat(header(http.get("/v2/" + repo + "/manifests/b"), "Docker-Content-Digest")).isEqualTo(digest);
        assertThat(json(http.get("/v2/" + repo + "/tags/list").body()).get("tags")).extracting(JsonNode::asText)
                .containsExactly("a", "b");
    }

    @Test
    void putByDigestThatDoesNotMatchIsDigestInvalid() {
        String repo = newRepo();
        byte[] content = bytes(http.imageJson(repo, "mismatch"));

        assertError(http.send("PUT", "/v2/" + repo + "/manifests/" + sha256(utf8("other")), content,
                "Content-Type", HttpFixture.OCI_MANIFEST), 400, "DIGEST_INVALID");
        assertError(http.get("/v2/" + repo + "/manifests/" + sha256(content)), 404, "MANIFEST_UNKNOWN");
    }

    @Test
    void putWithASubjectAnswersWithOciSubject() {
        String repo = newRepo();
        HttpFixture.Manifest subject = http.pushImage(repo, "subject", "latest");
        ObjectNode artifact = http.imageJson(repo, "signature");
        artifact.put("artifactType", "application/vnd.example.sig");
        artifact.set("subject", subject.descriptor());

        HttpResponse<byte[]> put = http.send("PUT", "/v2/" + repo + "/manifests/sig", bytes(artifact),
                "Content-Type", HttpFixture.OCI_MANIFEST);

        assertThat(put.statusCode()).isEqualTo(201);
        assertThat(header(put, "OCI-Subject")).isEqualTo(subject.digest());
        assertThat(http.pushImage(repo, "plain", "plain").digest()).isNotNull();
        HttpResponse<byte[]> plain = http.send("PUT", "/v2/" + repo + "/manifests/plain2", bytes(http.imageJson(repo, "plain2")),
                "Content-Type", HttpFixture.OCI_MANIFEST);
        assertThat(plain.headers().firstValue("OCI-Subject")).isEmpty();
    }

    @Test
    void referrersListsArtifactsAndFiltersByArtifactType() {
        String repo = newRepo();
        HttpFixture.Manifest subject = http.pushImage(repo, "subject", "latest");
        HttpFixture.Manifest sig = pushReferrer(repo, "sig", subject, "application/vnd.example.sig");
        HttpFixture.Manifest sbom = pushReferrer(repo, "sbom", subject, "application/spdx+json");

        HttpResponse<byte[]> all = http.get("/v2/" + repo + "/referrers/" + subject.digest());
        assertThat(all.statusCode()).isEqualTo(200);
        assertThat(header(all, "Content-Type")).isEqualTo(HttpFixture.OCI_INDEX);
        assertThat(all.headers().firstValue("OCI-Filters-Applied")).isEmpty();
        JsonNode index = json(all.body());
        assertThat(index.get("schemaVersion").asInt()).isEqualTo(2);
        assertThat(index.get("mediaType").asText()).isEqualTo(HttpFixture.OCI_INDEX);
        assertThat(index.get("manifests")).extracting(m -> m.get("digest").asText())
                .containsExactlyInAnyOrder(sig.digest(), sbom.digest());
        JsonNode sigEntry = findByDigest(index, sig.digest());
        assertThat(sigEntry.get("artifactType").asText()).isEqualTo("application/vnd.example.sig");
        assertThat(sigEntry.get("size").asLong()).isEqualTo(sig.content().length);
        assertThat(sigEntry.get("mediaType").asText()).isEqualTo(HttpFixture.OCI_MANIFEST);

        HttpResponse<byte[]> filtered = http.get("/v2/" + repo + "/referrers/" + subject.digest() + "?artifactType=application/spdx%2Bjson");
        assertThat(filtered.statusCode()).isEqualTo(200);
        assertThat(header(filtered, "OCI-Filters-Applied")).isEqualTo("artifactType");
        assertThat(json(filtered.body()).get("manifests")).extracting(m -> m.get("digest").asText()).containsExactly(sbom.digest());
    }

    @Test
    void referrersOfAnUnknownSubjectIsAnEmptyIndex() {
        String repo = newRepo();
        http.pushImage(repo, "anything", "latest");

        HttpResponse<byte[]> r = http.get("/v2/" + repo + "/referrers/" + sha256(utf8("no subject")));

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r.body()).get("manifests")).isEmpty();
    }

    @Test
    void referrersWithAMalformedDigestIsDigestInvalid() {
        assertError(http.get("/v2/" + newRepo() + "/referrers/latest"), 400, "DIGEST_INVALID");
    }

    @Test
    void deletedReferrerLeavesTheReferrersList() {
        String repo = newRepo();
        HttpFixture.Manifest subject = http.pushImage(repo, "subject", "latest");
        HttpFixture.Manifest sig = pushReferrer(repo, "sig", subject, "application/vnd.example.sig");

        assertThat(http.send("DELETE", "/v2/" + repo + "/manifests/" + sig.digest(), null).statusCode()).isEqualTo(202);

        assertThat(json(http.get("/v2/" + repo + "/referrers/" + subject.digest()).body()).get("manifests")).isEmpty();
    }

    @Test
    void deleteByDigestRemovesTheManifestAndItsTags() {
        String repo = newRepo();
        HttpFixture.Manifest m = http.pushImage(repo, "doomed", "doomed");
        http.pushImage(repo, "kept", "kept");

        assertThat(http.send("DELETE", "/v2/" + repo + "/manifests/" + m.digest(), null).statusCode()).isEqualTo(202);

        assertError(http.get("/v2/" + repo + "/manifests/" + m.digest()), 404, "MANIFEST_UNKNOWN");
        assertError(http.get("/v2/" + repo + "/manifests/doomed"), 404, "MANIFEST_UNKNOWN");
        assertThat(json(http.get("/v2/" + repo + "/tags/list").body()).get("tags")).extracting(JsonNode::asText).containsExactly("kept");
        assertError(http.send("DELETE", "/v2/" + repo + "/manifests/" + m.digest(), null), 404, "MANIFEST_UNKNOWN");
    }

    @Test
    void deleteByTagRemovesOnlyTheTag() {
        String repo = newRepo();
        HttpFixture.Manifest m = http.pushImage(repo, "img", "gone");

        assertThat(http.send("DELETE", "/v2/" + repo + "/manifests/gone", null).statusCode()).isEqualTo(202);

        assertError(http.get("/v2/" + repo + "/manifests/gone"), 404, "MANIFEST_UNKNOWN");
        assertThat(http.get("/v2/" + repo + "/manifests/" + m.digest()).statusCode()).isEqualTo(200);
    }

    @Test
    void missingLayerIsManifestBlobUnknown() {
        String repo = newRepo();
        ObjectNode json = http.imageJson(repo, "img");
        json.withArray("layers").add(HttpFixture.descriptor(HttpFixture.LAYER_TYPE, sha256(utf8("never pushed")), 12));

        assertError(http.send("PUT", "/v2/" + repo + "/manifests/latest", bytes(json), "Content-Type", HttpFixture.OCI_MANIFEST),
                400, "MANIFEST_BLOB_UNKNOWN");
        assertError(http.get("/v2/" + repo + "/manifests/latest"), 404, "MANIFEST_UNKNOWN");
    }

    @Test
    void indexWithAMissingChildIsManifestBlobUnknown() {
        String repo = newRepo();
        ObjectNode index = HttpFixture.JSON.createObjectNode();
        index.put("schemaVersion", 2);
        index.put("mediaType", HttpFixture.OCI_INDEX);
        index.putArray("manifests").add(HttpFixture.descriptor(HttpFixture.OCI_MANIFEST, sha256(utf8("no child")), 8));

        assertError(http.send("PUT", "/v2/" + repo + "/manifests/multi", bytes(index), "Content-Type", HttpFixture.OCI_INDEX),
                400, "MANIFEST_BLOB_UNKNOWN");
    }

    @Test
    void malformedOrMismatchedManifestsAreManifestInvalid() {
        String repo = newRepo();
        byte[] valid = bytes(http.imageJson(repo, "img"));

        assertError(http.send("PUT", "/v2/" + repo + "/manifests/x", utf8("{not json"), "Content-Type", HttpFixture.OCI_MANIFEST),
                400, "MANIFEST_INVALID");
        assertError(http.send("PUT", "/v2/" + repo + "/manifests/x", valid, "Content-Type", HttpFixture.OCI_INDEX),
                400, "MANIFEST_INVALID");
        assertError(http.send("PUT", "/v2/" + repo + "/manifests/x", valid, "Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws"),
                400, "MANIFEST_INVALID");
        assertError(http.send("PUT", "/v2/" + repo + "/manifests/x", new byte[0], "Content-Type", HttpFixture.OCI_MANIFEST),
                400, "MANIFEST_INVALID");
    }

    @Test
    void contentTypeParametersAreIgnored() {
        String repo = newRepo();
        byte[] valid = bytes(http.imageJson(repo, "img"));

        HttpResponse<byte[]> r = http.send("PUT", "/v2/" + repo + "/manifests/x", valid, "Content-Type", HttpFixture.OCI_MANIFEST + "; charset=utf-8");

        assertThat(r.statusCode()).isEqualTo(201);
    }

    @Test
    void invalidTagInAPutIsTagInvalid() {
        String repo = newRepo();
        byte[] valid = bytes(http.imageJson(repo, "img"));

        assertError(http.send("PUT", "/v2/" + repo + "/manifests/-bad", valid, "Content-Type", HttpFixture.OCI_MANIFEST), 400, "TAG_INVALID");
        assertError(http.send("PUT", "/v2/" + repo + "/manifests/" + sha256(valid) + "?tag=.bad", valid,
                "Content-Type", HttpFixture.OCI_MANIFEST), 400, "TAG_INVALID");
    }

    @Test
    void getOfAnImpossibleTagIsManifestUnknownAndOfAMalformedDigestDigestInvalid() {
        String repo = newRepo();

        assertError(http.get("/v2/" + repo + "/manifests/-bad"), 404, "MANIFEST_UNKNOWN");
        assertError(http.get("/v2/" + repo + "/manifests/sha256:abc"), 400, "DIGEST_INVALID");
    }

    @Test
    void ifNoneMatchOnAManifestIsNotModified() {
        String repo = newRepo();
        http.pushImage(repo, "img", "latest");
        String etag = header(http.get("/v2/" + repo + "/manifests/latest"), "ETag");

        HttpResponse<byte[]> r = http.get("/v2/" + repo + "/manifests/latest", "If-None-Match", etag);

        assertThat(r.statusCode()).isEqualTo(304);
        assertThat(r.body()).isEmpty();
    }

    @Test
    void manifestJustUnderTheLimitIsAccepted() {
        String repo = newRepo();
        ObjectNode json = http.imageJson(repo, "big");
        String padding = "x".repeat((int) (4L << 20) - bytes(json).length - 64);
        json.putObject("annotations").put("pad", padding);
        byte[] content = bytes(json);
        assertThat(content.length).isLessThanOrEqualTo(4 << 20);

        HttpResponse<byte[]> r = http.send("PUT", "/v2/" + repo + "/manifests/big", content, "Content-Type", HttpFixture.OCI_MANIFEST);

        assertThat(r.statusCode()).isEqualTo(201);
        assertThat(http.get("/v2/" + repo + "/manifests/big").body()).isEqualTo(content);
    }

    private static HttpFixture.Manifest pushReferrer(String repo, String seed, HttpFixture.Manifest subject, String artifactType) {
        ObjectNode json = http.imageJson(repo, seed);
        json.put("artifactType", artifactType);
        json.set("subject", subject.descriptor());
        return http.putManifest(repo, sha256(bytes(json)), json);
    }

    private static JsonNode findByDigest(JsonNode index, String digest) {
        for (JsonNode m : index.get("manifests")) {
            if (m.get("digest").asText().equals(digest)) {
                return m;
            }
        }
        throw new AssertionError(digest + " not in " + index);
    }
}
