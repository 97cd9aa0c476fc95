package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.testing.RegistryClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** regctl (regclient) against a live Berth: copy, raw manifests, indexes, tags, blobs and referrers. */
class RegctlIT extends LiveBerthTest {
    private static final String SBOM_TYPE = "application/vnd.berth.test.sbom+json";

    private PeerCli regctl;
    private CraneSeed seed;

    @BeforeEach
    void privateConfig() {
        regctl = peer("REGCTL");
        regctl.ok("registry", "set", "--tls", "disabled", berth.hostAndPort());
        assertThat(home("REGCTL").resolve(".regctl/config.json")).content().contains("\"tls\": \"disabled\"");
        seed = seed();
    }

    @Test
    void copiedImageKeepsItsDigestAndPullsBackByTagAndByDigest() throws Exception {
        String digest = seed.image("seed/regctl-app:v1", 100);

        regctl.ok("image", "copy", ref("seed/regctl-app:v1"), ref("regctl/app:v1"));

        assertThat(regctl.text("image", "digest", ref("regctl/app:v1"))).isEqualTo(digest);
        byte[] served = http.requireManifest("regctl/app", "v1").body();
        assertThat(RegistryClient.sha256(served)).isEqualTo(digest);
        assertThat(regctl.bytes("manifest", "get", "--format", "raw-body", ref("regctl/app:v1"))).isEqualTo(served);
        assertThat(regctl.bytes("manifest", "get", "--format", "raw-body", ref("regctl/app@" + digest))).isEqualTo(served);

        // `regctl image export` pulls into an OCI layout tar, by tag and by digest.
        for (String reference : List.of(ref("regctl/app:v1"), ref("regctl/app@" + digest))) {
            Path tar = Files.createTempFile(work, "export-", ".tar");
            regctl.ok("image", "export", reference, tar.toString());
            OciLayout layout = OciLayout.untar(tar, Files.createTempDirectory(work, "layout-"));
            assertThat(layout.onlyManifestDigest()).as("exported %s", reference).isEqualTo(digest);
            assertThat(Files.readAllBytes(layout.blob(digest))).isEqualTo(served);
            layout.assertBlobsMatchTheirNames();
            assertThat(layout.blobDigests()).containsAll(blobsOf(served));
        }
    }

    @Test
    void indexCreatedThenExtendedServesBothPlatforms() {
        String amd64 = seed.platformImage("seed/regctl-multi:amd64", "linux/amd64", 110);
        String arm64 = seed.platformImage("seed/regctl-multi:arm64", "linux/arm64", 111);
        regctl.ok("image", "copy", ref("seed/regctl-multi:amd64"), ref("regctl/multi:amd64"));
        regctl.ok("image", "copy", ref("seed/regctl-multi:arm64"), ref("regctl/multi:arm64"));

        regctl.ok("index", "create", ref("regctl/multi:v1"), "--ref", ref("regctl/multi:amd64"));
        assertThat(children(http.requireManifest("regctl/multi", "v1").body())).containsExactly("linux/amd64=" + amd64);
        regctl.ok("index", "add", ref("regctl/multi:v1"), "--ref", ref("regctl/multi:arm64"));

        byte[] served = http.requireManifest("regctl/multi", "v1").body();
        assertThat(RegistryHttp.json(served).path("mediaType").asText()).isEqualTo("application/vnd.oci.image.index.v1+json");
        assertThat(children(served)).containsExactly("linux/amd64=" + amd64, "linux/arm64=" + arm64);
        assertThat(regctl.bytes("manifest", "get", "--format", "raw-body", ref("regctl/multi:v1"))).isEqualTo(served);
        String index = regctl.text("image", "digest", ref("regctl/multi:v1"));
        assertThat(index).isEqualTo(RegistryClient.sha256(served));
        assertThat(regctl.bytes("manifest", "get", "--format", "raw-body", ref("regctl/multi@" + index))).isEqualTo(served);
        assertThat(regctl.text("image", "digest", "--platform", "linux/arm64", ref("regctl/multi:v1"))).isEqualTo(arm64);
    }

    @Test
    void tagDeleteRemovesOnlyTheTagThroughTheDeleteApi() {
        String digest = seed.image("seed/regctl-tags:v1", 120);
        regctl.ok("image", "copy", ref("seed/regctl-tags:v1"), ref("regctl/tags:v1"));
        regctl.ok("image", "copy", ref("seed/regctl-tags:v1"), ref("regctl/tags:v2"));
        assertThat(regctl.text("tag", "ls", ref("regctl/tags")).lines()).containsExactly("v1", "v2");

        PeerCli.Out delete = regctl.ok("tag", "delete", "-v", "trace", ref("regctl/tags:v1"));

        // Berth deletes tags by name, so regctl need not push and delete a dummy manifest in its place.
        assertThat(delete.stderr())
                .contains("req-method=DELETE req-url=" + berth.baseUri() + "/v2/regctl/tags/manifests/v1")
                .contains("resp-status=\"202 Accepted\"")
                .doesNotContain("req-method=PUT");
        assertThat(regctl.text("tag", "ls", ref("regctl/tags")).lines()).containsExactly("v2");
        assertThat(http.get("/v2/regctl/tags/manifests/v1").status()).isEqualTo(404);
        assertThat(http.get("/v2/regctl/tags/manifests/" + digest).status()).isEqualTo(200);
        assertThat(regctl.text("image", "digest", ref("regctl/tags:v2"))).isEqualTo(digest);
    }

    @Test
    void blobGetReturnsContentMatchingEachDigest() {
        String digest = seed.image("seed/regctl-blobs:v1", 130);
        regctl.ok("image", "copy", ref("seed/regctl-blobs:v1"), ref("regctl/blobs:v1"));
        List<JsonNode> blobs = blobDescriptors(http.requireManifest("regctl/blobs", digest).json());
        assertThat(blobs).hasSize(3);

        for (JsonNode blob : blobs) {
            String d = blob.path("digest").asText();
            byte[] content = regctl.bytes("blob", "get", ref("regctl/blobs"), d);
            assertThat(RegistryClient.sha256(content)).as("blob %s", d).isEqualTo(d);
            assertThat((long) content.length).isEqualTo(blob.path("size").asLong());
        }
    }

    @Test
    void artifactPutWithSubjectIsListedAsAReferrer() throws Exception {
        String subject = seed.image("seed/regctl-ref:v1", 140);
        regctl.ok("image", "copy", ref("seed/regctl-ref:v1"), ref("regctl/ref:v1"));
        Path sbom = Files.writeString(work.resolve("sbom.json"), "{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"berth\"}\n");

        regctl.ok("artifact", "put", "--artifact-type", SBOM_TYPE, "--file-media-type", "application/spdx+json",
                "-f", sbom.toString(), "--subject", ref("regctl/ref:v1"));

        JsonNode listed = RegistryHttp.json(regctl.bytes("artifact", "list", "--format", "body", ref("regctl/ref:v1")));
        assertThat(listed.path("manifests")).hasSize(1);
        JsonNode referrer = listed.path("manifests").get(0);
        assertThat(referrer.path("artifactType").asText()).isEqualTo(SBOM_TYPE);
        assertThat(referrer.path("mediaType").asText()).isEqualTo("application/vnd.oci.image.manifest.v1+json");
        String artifact = referrer.path("digest").asText();

        byte[] artifactManifest = http.requireManifest("regctl/ref", artifact).body();
        assertThat(RegistryHttp.json(artifactManifest).path("subject").path("digest").asText()).isEqualTo(subject);
        String layer = RegistryHttp.json(artifactManifest).path("layers").get(0).path("digest").asText();
        assertThat(regctl.bytes("blob", "get", ref("regctl/ref"), layer)).isEqualTo(Files.readAllBytes(sbom));

        // The same list through the referrers API, filtered by the server.
        RegistryHttp.Response filtered = http.get("/v2/regctl/ref/referrers/" + subject + "?artifactType=application/vnd.berth.other");
        assertThat(filtered.status()).isEqualTo(200);
        assertThat(filtered.headers().firstValue("OCI-Filters-Applied")).hasValue("artifactType");
        assertThat(RegistryHttp.json(filtered.body()).path("manifests")).isEmpty();
        JsonNode byType = RegistryHttp.json(regctl.bytes("artifact", "list", "--format", "body",
                "--filter-artifact-type", SBOM_TYPE, ref("regctl/ref@" + subject)));
        assertThat(byType.path("manifests").get(0).path("digest").asText()).isEqualTo(artifact);
        // The referrers API made the fallback tag (sha256-<hex>) unnecessary.
        assertThat(regctl.text("tag", "ls", ref("regctl/ref")).lines()).containsExactly("v1");
    }

    /** Each child of an index as {@code os/arch=digest}. */
    private static List<String> children(byte[] index) {
        List<String> out = new ArrayList<>();
        RegistryHttp.json(index).path("manifests").forEach(m -> out.add(m.path("platform").path("os").asText() + "/"
                + m.path("platform").path("architecture").asText() + "=" + m.path("digest").asText()));
        return out;
    }

    /** The config and layer digests of an image manifest. */
    private static List<String> blobsOf(byte[] manifest) {
        JsonNode json = RegistryHttp.json(manifest);
        List<String> out = new ArrayList<>();
        out.add(json.path("config").path("digest").asText());
        json.path("layers").forEach(l -> out.add(l.path("digest").asText()));
        return out;
    }
}
