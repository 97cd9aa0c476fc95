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

/**
 * skopeo (containers/image) against a live Berth: registry-to-registry copies (single images and whole
 * indexes), raw inspection, pulls into {@code dir:} and {@code oci:} layouts, tag listing and delete.
 */
class SkopeoIT extends LiveBerthTest {
    private PeerCli skopeo;
    private List<String> global;
    private CraneSeed seed;

    @BeforeEach
    void privateConfig() throws Exception {
        Path home = home("SKOPEO");
        skopeo = peer("SKOPEO");
        // Trust policy, registries.d and temporary files of our own: nothing from /etc/containers or ~.
        Path policy = Files.writeString(home.resolve("policy.json"), "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}");
        Path registriesD = Files.createDirectories(home.resolve("registries.d"));
        global = List.of("--policy", policy.toString(), "--registries.d", registriesD.toString(),
                "--tmpdir", home.resolve("tmp").toString());
        seed = seed();
    }

    /** Runs skopeo with the private global flags; requires success. */
    private PeerCli.Out skopeo(String... args) {
        List<String> all = new ArrayList<>(global);
        all.addAll(List.of(args));
        return skopeo.ok(all.toArray(String[]::new));
    }

    private static String docker(String repoRef) {
        return "docker://" + berth.hostAndPort() + "/" + repoRef;
    }

    private void copy(String from, String to, String... flags) {
        List<String> args = new ArrayList<>(List.of("copy", "--src-tls-verify=false", "--dest-tls-verify=false"));
        args.addAll(List.of(flags));
        args.add(from);
        args.add(to);
        skopeo(args.toArray(String[]::new));
    }

    @Test
    void copyBetweenRepositoriesKeepsTheDigestAndTheRawManifest() {
        String digest = seed.image("seed/skopeo-app:v1", 200);

        copy(docker("seed/skopeo-app:v1"), docker("skopeo/app:v1"));

        byte[] served = http.requireManifest("skopeo/app", "v1").body();
        assertThat(RegistryClient.sha256(served)).isEqualTo(digest);
        assertThat(skopeo("inspect", "--raw", "--tls-verify=false", docker("skopeo/app:v1")).stdout()).isEqualTo(served);
        assertThat(skopeo("inspect", "--raw", "--tls-verify=false", docker("skopeo/app@" + digest)).stdout()).isEqualTo(served);
        JsonNode inspected = RegistryHttp.json(skopeo("inspect", "--tls-verify=false", docker("skopeo/app:v1")).stdout());
        assertThat(inspected.path("Digest").asText()).isEqualTo(digest);
        assertThat(inspected.path("RepoTags").toString()).isEqualTo("[\"v1\"]");
        List<String> layers = new ArrayList<>();
        inspected.path("Layers").forEach(l -> layers.add(l.asText()));
        assertThat(layers).hasSize(2).containsExactlyElementsOf(layerDigests(served));
    }

    @Test
    void pullByTagIntoDirAndByDigestIntoOciLayoutYieldsTheSameLayers() throws Exception {
        String digest = seed.image("seed/skopeo-pull:v1", 210);
        copy(docker("seed/skopeo-pull:v1"), docker("skopeo/pull:v1"));
        byte[] served = http.requireManifest("skopeo/pull", digest).body();
        List<String> layers = layerDigests(served);

        // dir: keeps the manifest exactly as served, so its digest is the pushed one.
        Path byTag = work.resolve("by-tag");
        skopeo("copy", "--src-tls-verify=false", docker("skopeo/pull:v1"), "dir:" + byTag);
        assertThat(Files.readAllBytes(byTag.resolve("manifest.json"))).isEqualTo(served);
        assertThat(RegistryClient.sha256(byTag.resolve("manifest.json"))).isEqualTo(digest);
        for (String layer : layers) {
            Path file = byTag.resolve(layer.substring("sha256:".length()));
            assertThat(RegistryClient.sha256(file)).as("layer %s in dir:", layer).isEqualTo(layer);
        }

        // oci: converts the Docker manifest to an OCI one (a new manifest digest), but the layers are unchanged.
        Path byDigest = work.resolve("by-digest");
        skopeo("copy", "--src-tls-verify=false", docker("skopeo/pull@" + digest), "oci:" + byDigest + ":pulled");
        OciLayout layout = OciLayout.at(byDigest);
        layout.assertBlobsMatchTheirNames();
        JsonNode ociManifest = RegistryHttp.json(layout.blob(layout.onlyManifestDigest()));
        assertThat(ociManifest.path("mediaType").asText()).isEqualTo("application/vnd.oci.image.manifest.v1+json");
        assertThat(layerDigests(Files.readAllBytes(layout.blob(layout.onlyManifestDigest())))).isEqualTo(layers);
        for (String layer : layers) {
            assertThat(RegistryClient.sha256(layout.blob(layer))).isEqualTo(layer);
        }
    }

    @Test
    void copyAllCopiesEveryPlatformOfAnIndex() {
        String amd64 = seed.platformImage("seed/skopeo-multi:amd64", "linux/amd64", 220);
        String arm64 = seed.platformImage("seed/skopeo-multi:arm64", "linux/arm64", 221);
        seed.index("seed/skopeo-multi:v1", "seed/skopeo-multi@" + amd64, "seed/skopeo-multi@" + arm64);

        copy(docker("seed/skopeo-multi:v1"), docker("skopeo/multi:v1"), "--all");

        byte[] served = http.requireManifest("skopeo/multi", "v1").body();
        JsonNode index = RegistryHttp.json(served);
        assertThat(index.path("mediaType").asText()).isEqualTo("application/vnd.oci.image.index.v1+json");
        List<String> children = new ArrayList<>();
        index.path("manifests").forEach(m -> children.add(m.path("platform").path("architecture").asText() + "=" + m.path("digest").asText()));
        assertThat(children).containsExactly("amd64=" + amd64, "arm64=" + arm64);
        for (String child : List.of(amd64, arm64)) {
            byte[] copied = http.requireManifest("skopeo/multi", child).body();
            assertThat(copied).isEqualTo(http.requireManifest("seed/skopeo-multi", child).body());
            for (String layer : layerDigests(copied)) {
                assertThat(http.head("/v2/skopeo/multi/blobs/" + layer).status()).as("layer %s of %s", layer, child).isEqualTo(200);
            }
        }
        // skopeo 1.9 re-serialises the index it writes (dropping descriptor fields it does not know, such as
        // crane's artifactType), so the index digest may differ from the source; it is consistent with the bytes.
        assertThat(skopeo("inspect", "--raw", "--tls-verify=false", docker("skopeo/multi:v1")).stdout()).isEqualTo(served);
        RegistryHttp.Response head = http.head("/v2/skopeo/multi/manifests/v1");
        assertThat(head.headers().firstValue("Docker-Content-Digest")).hasValue(RegistryClient.sha256(served));
        JsonNode arm = RegistryHttp.json(skopeo("inspect", "--tls-verify=false", "--override-arch", "arm64", docker("skopeo/multi:v1")).stdout());
        // skopeo inspect reports the index's digest but the chosen platform's image.
        assertThat(arm.path("Digest").asText()).isEqualTo(RegistryClient.sha256(served));
        assertThat(arm.path("Architecture").asText()).isEqualTo("arm64");
        List<String> armLayers = new ArrayList<>();
        arm.path("Layers").forEach(l -> armLayers.add(l.asText()));
        assertThat(armLayers).isEqualTo(layerDigests(http.requireManifest("skopeo/multi", arm64).body()));
    }

    @Test
    void listTagsShowsEveryTagOfTheRepository() {
        seed.image("seed/skopeo-tags:v1", 230);
        copy(docker("seed/skopeo-tags:v1"), docker("skopeo/tags:v1"));
        copy(docker("seed/skopeo-tags:v1"), docker("skopeo/tags:latest"));
        copy(docker("seed/skopeo-tags:v1"), docker("skopeo/tags:1.0.0"));

        JsonNode listed = RegistryHttp.json(skopeo("list-tags", "--tls-verify=false", docker("skopeo/tags")).stdout());

        assertThat(listed.path("Repository").asText()).isEqualTo(berth.hostAndPort() + "/skopeo/tags");
        List<String> tags = new ArrayList<>();
        listed.path("Tags").forEach(t -> tags.add(t.asText()));
        assertThat(tags).containsExactlyInAnyOrder("v1", "latest", "1.0.0");
    }

    @Test
    void deleteRemovesTheManifestAndItsTag() {
        String digest = seed.image("seed/skopeo-delete:v1", 240);
        copy(docker("seed/skopeo-delete:v1"), docker("skopeo/delete:v1"));
        assertThat(http.get("/v2/skopeo/delete/manifests/" + digest).status()).isEqualTo(200);

        skopeo("delete", "--tls-verify=false", docker("skopeo/delete:v1"));

        assertThat(http.get("/v2/skopeo/delete/manifests/" + digest).status()).isEqualTo(404);
        assertThat(http.get("/v2/skopeo/delete/manifests/v1").status()).isEqualTo(404);
        // The seed repository's copy is untouched.
        assertThat(http.get("/v2/seed/skopeo-delete/manifests/" + digest).status()).isEqualTo(200);
        List<String> inspect = new ArrayList<>(global);
        inspect.addAll(List.of("inspect", "--raw", "--tls-verify=false", docker("skopeo/delete@" + digest)));
        PeerCli.Out gone = skopeo.run(inspect.toArray(String[]::new));
        assertThat(gone.exitCode()).isNotZero();
        assertThat(gone.stderr()).contains("manifest unknown");
    }

    private static List<String> layerDigests(byte[] manifest) {
        List<String> out = new ArrayList<>();
        RegistryHttp.json(manifest).path("layers").forEach(l -> out.add(l.path("digest").asText()));
        return out;
    }
}
