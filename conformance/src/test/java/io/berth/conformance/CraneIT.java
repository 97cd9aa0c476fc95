package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.testing.RegistryClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** crane (go-containerregistry) against a live Berth: push, pull, indexes, cross-repository copy, listing, delete. */
class CraneIT extends LiveBerthTest {
    @Test
    void appendedImagePullsBackByTagAndByDigestWithTheSameContent() throws Exception {
        PeerCli crane = peer("CRANE");
        List<Path> layers = seed().layers(1);
        String pushed = CraneSeed.digestOf(crane.text("append", "--insecure",
                "-f", layers.get(0).toString(), "-f", layers.get(1).toString(), "-t", ref("crane/app:v1")));

        assertThat(crane.text("digest", "--insecure", ref("crane/app:v1"))).isEqualTo(pushed);
        RegistryHttp.Response get = http.get("/v2/crane/app/manifests/v1");
        assertThat(get.status()).isEqualTo(200);
        assertThat(get.headers().firstValue("Docker-Content-Digest")).hasValue(pushed);
        assertThat(RegistryClient.sha256(get.body())).isEqualTo(pushed);
        assertThat(crane.bytes("manifest", "--insecure", ref("crane/app:v1"))).isEqualTo(get.body());
        assertThat(crane.bytes("manifest", "--insecure", ref("crane/app@" + pushed))).isEqualTo(get.body());

        JsonNode manifest = RegistryHttp.json(get.body());
        assertThat(manifest.path("layers")).hasSize(2);
        List<String> layerDigests = new ArrayList<>();
        manifest.path("layers").forEach(l -> layerDigests.add(l.path("digest").asText()));
        String configDigest = manifest.path("config").path("digest").asText();

        // `crane pull` to docker-save tarballs, by tag and by digest: the same config and layers as pushed.
        for (String reference : List.of(ref("crane/app:v1"), ref("crane/app@" + pushed))) {
            Path tar = Files.createTempFile(work, "pull-", ".tar");
            crane.ok("pull", "--insecure", reference, tar.toString());
            Path dir = OciLayout.untarTo(tar, Files.createTempDirectory(work, "unpacked-"));
            JsonNode saved = RegistryHttp.json(dir.resolve("manifest.json")).get(0);
            assertThat(saved.path("Config").asText()).isEqualTo(configDigest);
            assertThat(RegistryClient.sha256(dir.resolve(configDigest))).isEqualTo(configDigest);
            List<String> savedLayers = new ArrayList<>();
            for (JsonNode file : saved.path("Layers")) {
                String digest = "sha256:" + file.asText().replace(".tar.gz", "");
                assertThat(RegistryClient.sha256(dir.resolve(file.asText()))).as("layer file %s", file).isEqualTo(digest);
                savedLayers.add(digest);
            }
            assertThat(savedLayers).as("layers pulled from %s", reference).isEqualTo(layerDigests);
        }

        // As an OCI layout, the pulled manifest keeps its digest.
        for (String reference : List.of(ref("crane/app:v1"), ref("crane/app@" + pushed))) {
            Path dir = Files.createTempDirectory(work, "oci-");
            crane.ok("pull", "--insecure", "--format", "oci", reference, dir.toString());
            OciLayout layout = OciLayout.at(dir);
            assertThat(layout.onlyManifestDigest()).as("pulled %s", reference).isEqualTo(pushed);
            layout.assertBlobsMatchTheirNames();
            assertThat(Files.readAllBytes(layout.blob(pushed))).isEqualTo(get.body());
        }
    }

    @Test
    void multiArchIndexServesTheIndexAndEachPlatformChild() {
        PeerCli crane = peer("CRANE");
        CraneSeed seed = seed();
        String amd64 = seed.platformImage("crane/multi:amd64", "linux/amd64", 10);
        String arm64 = seed.platformImage("crane/multi:arm64", "linux/arm64", 11);

        String index = CraneSeed.digestOf(crane.text("index", "append", "--insecure",
                "-m", ref("crane/multi@" + amd64), "-m", ref("crane/multi@" + arm64), "-t", ref("crane/multi:v1")));

        byte[] served = http.requireManifest("crane/multi", "v1").body();
        assertThat(RegistryClient.sha256(served)).isEqualTo(index);
        assertThat(http.get("/v2/crane/multi/manifests/v1").headers().firstValue("Content-Type"))
                .hasValue("application/vnd.oci.image.index.v1+json");
        assertThat(crane.bytes("manifest", "--insecure", ref("crane/multi:v1"))).isEqualTo(served);
        assertThat(crane.bytes("manifest", "--insecure", ref("crane/multi@" + index))).isEqualTo(served);

        JsonNode json = RegistryHttp.json(served);
        assertThat(json.path("mediaType").asText()).isEqualTo("application/vnd.oci.image.index.v1+json");
        List<String> platforms = new ArrayList<>();
        List<String> children = new ArrayList<>();
        json.path("manifests").forEach(m -> {
            platforms.add(m.path("platform").path("os").asText() + "/" + m.path("platform").path("architecture").asText());
            children.add(m.path("digest").asText());
        });
        assertThat(platforms).containsExactly("linux/amd64", "linux/arm64");
        assertThat(children).containsExactly(amd64, arm64);

        for (String child : children) {
            byte[] childBody = http.requireManifest("crane/multi", child).body();
            assertThat(RegistryClient.sha256(childBody)).isEqualTo(child);
            assertThat(crane.bytes("manifest", "--insecure", ref("crane/multi@" + child))).isEqualTo(childBody);
        }
        // crane resolves a platform through the index.
        assertThat(crane.text("digest", "--insecure", "--platform", "linux/arm64", ref("crane/multi:v1"))).isEqualTo(arm64);
    }

    @Test
    void copyToAnotherRepositoryMountsEveryBlobInsteadOfUploadingIt() {
        PeerCli crane = peer("CRANE");
        String digest = seed().image("crane/source:v1", 20);

        PeerCli.Out copy = crane.ok("copy", "--insecure", "-v", ref("crane/source:v1"), ref("crane/target:v1"));

        assertThat(crane.text("digest", "--insecure", ref("crane/target:v1"))).isEqualTo(digest);
        List<JsonNode> blobs = blobDescriptors(http.requireManifest("crane/target", "v1").json());
        assertThat(blobs).hasSize(3);
        for (JsonNode blob : blobs) {
            String d = blob.path("digest").asText();
            RegistryHttp.Response head = http.head("/v2/crane/target/blobs/" + d);
            assertThat(head.status()).as("HEAD blob %s in the target", d).isEqualTo(200);
            assertThat(head.headers().firstValue("Docker-Content-Digest")).hasValue(d);
            assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue(blob.path("size").asLong());
        }
        // crane -v logs each request: every blob was mounted from the source (201), none was uploaded.
        Matcher mounts = Pattern.compile("POST /v2/crane/target/blobs/uploads/\\?from=crane%2Fsource&mount=sha256%3A[0-9a-f]{64}")
                .matcher(copy.stderr());
        assertThat(mounts.results().count()).as("mount requests in:%n%s", Proc.tail(copy.stderr())).isEqualTo(3);
        assertThat(copy.stderr()).contains("HTTP/1.1 201 Created").doesNotContain("PATCH /v2/crane/target");
    }

    @Test
    void lsAndCatalogListEveryPushedTagAndRepository() {
        PeerCli crane = peer("CRANE");
        CraneSeed seed = seed();
        seed.image("crane/listed:v1", 30);
        seed.image("crane/listed:v2", 31);
        seed.image("crane/listed-too:latest", 32);
        crane.ok("tag", "--insecure", ref("crane/listed:v2"), "stable");

        assertThat(crane.text("ls", "--insecure", ref("crane/listed")).lines()).containsExactly("stable", "v1", "v2");
        assertThat(crane.text("ls", "--insecure", ref("crane/listed-too")).lines()).containsExactly("latest");
        assertThat(crane.text("catalog", "--insecure", berth.hostAndPort()).lines())
                .contains("crane/listed", "crane/listed-too")
                .isSorted();
    }

    @Test
    void deletingAManifestByDigestMakesItAndItsTagUnknown() {
        PeerCli crane = peer("CRANE");
        String digest = seed().image("crane/doomed:v1", 40);
        assertThat(http.get("/v2/crane/doomed/manifests/" + digest).status()).isEqualTo(200);

        crane.ok("delete", "--insecure", ref("crane/doomed@" + digest));

        RegistryHttp.Response byDigest = http.get("/v2/crane/doomed/manifests/" + digest);
        assertThat(byDigest.status()).isEqualTo(404);
        assertThat(RegistryHttp.json(byDigest.body()).path("errors").get(0).path("code").asText()).isEqualTo("MANIFEST_UNKNOWN");
        // As in registry:2, deleting a manifest removes the tags that pointed at it.
        assertThat(http.get("/v2/crane/doomed/manifests/v1").status()).isEqualTo(404);
        assertThat(crane.text("ls", "--insecure", ref("crane/doomed"))).isEmpty();
        assertThat(crane.run("manifest", "--insecure", ref("crane/doomed@" + digest)).exitCode()).isNotZero();
    }
}
