package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.testing.RegistryClient;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** oras against a live Berth: artifacts with custom types, pulls by tag and digest, attach and referrers discovery. */
class OrasIT extends LiveBerthTest {
    private static final String BUNDLE_TYPE = "application/vnd.berth.test.bundle";
    private static final String SBOM_TYPE = "application/vnd.berth.test.sbom+json";

    private PeerCli oras;

    @BeforeEach
    void privateHome() {
        oras = peer("ORAS");
    }

    /** Runs oras in {@code dir} (oras names files by their relative paths); requires success. */
    private PeerCli.Out orasIn(Path dir, String... args) {
        return oras.runIn(dir, List.of(args)).requireSuccess();
    }

    /** A directory holding {@code notes.txt} (text) and {@code data.bin} (300 KiB of seeded random bytes). */
    private Path twoFiles(String name, long seed) throws Exception {
        Path dir = Files.createDirectories(work.resolve(name));
        Files.writeString(dir.resolve("notes.txt"), "pushed to berth by oras (" + seed + ")\n");
        byte[] data = new byte[300 * 1024];
        new Random(seed).nextBytes(data);
        Files.write(dir.resolve("data.bin"), data);
        return dir;
    }

    /** Pushes the two files of {@link #twoFiles} to {@code repoTag}; returns the manifest digest. */
    private String pushTwoFiles(Path dir, String repoTag) {
        JsonNode pushed = RegistryHttp.json(orasIn(dir, "push", "--plain-http", "--format", "json",
                "--artifact-type", BUNDLE_TYPE, ref(repoTag),
                "notes.txt:text/plain", "data.bin:application/vnd.berth.test.data").stdout());
        assertThat(pushed.path("artifactType").asText()).isEqualTo(BUNDLE_TYPE);
        return pushed.path("digest").asText();
    }

    @Test
    void pushedArtifactPullsBackByTagAndByDigestWithTheSameFiles() throws Exception {
        Path source = twoFiles("source", 300);
        String digest = pushTwoFiles(source, "oras/artifact:v1");

        byte[] served = http.requireManifest("oras/artifact", "v1").body();
        assertThat(RegistryClient.sha256(served)).isEqualTo(digest);
        JsonNode manifest = RegistryHttp.json(served);
        assertThat(manifest.path("mediaType").asText()).isEqualTo("application/vnd.oci.image.manifest.v1+json");
        assertThat(manifest.path("artifactType").asText()).isEqualTo(BUNDLE_TYPE);
        List<String> layers = new ArrayList<>();
        manifest.path("layers").forEach(l -> layers.add(l.path("annotations").path("org.opencontainers.image.title").asText()
                + " " + l.path("mediaType").asText()));
        assertThat(layers).containsExactlyInAnyOrder("notes.txt text/plain", "data.bin application/vnd.berth.test.data");

        assertThat(orasIn(work, "resolve", "--plain-http", ref("oras/artifact:v1")).text().strip()).isEqualTo(digest);
        assertThat(orasIn(work, "manifest", "fetch", "--plain-http", ref("oras/artifact:v1")).stdout()).isEqualTo(served);
        assertThat(orasIn(work, "manifest", "fetch", "--plain-http", ref("oras/artifact@" + digest)).stdout()).isEqualTo(served);

        for (String reference : List.of(ref("oras/artifact:v1"), ref("oras/artifact@" + digest))) {
            Path out = Files.createTempDirectory(work, "pulled-");
            PeerCli.Out pull = orasIn(work, "pull", "--plain-http", "-o", out.toString(), reference);
            assertThat(pull.text()).contains("Digest: " + digest);
            for (String file : List.of("notes.txt", "data.bin")) {
                assertThat(Files.readAllBytes(out.resolve(file))).as("%s pulled from %s", file, reference)
                        .isEqualTo(Files.readAllBytes(source.resolve(file)));
            }
        }
    }

    @Test
    void attachedSbomIsDiscoveredThroughTheReferrersApi() throws Exception {
        String subject = seed().image("crane/app:v1", 310);
        Path dir = Files.createDirectories(work.resolve("sbom"));
        Files.writeString(dir.resolve("sbom.json"), "{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"crane-app\"}\n");

        // No --distribution-spec: oras finds out itself whether Berth has the referrers API (the OCI-Subject
        // header on the manifest PUT) and falls back to a sha256-<hex> tag if not.
        JsonNode attached = RegistryHttp.json(orasIn(dir, "attach", "--plain-http", "--format", "json",
                "--artifact-type", SBOM_TYPE,
                ref("crane/app@" + subject), "sbom.json").stdout());
        String sbom = attached.path("digest").asText();
        assertThat(sbom).startsWith("sha256:");
        JsonNode sbomManifest = http.requireManifest("crane/app", sbom).json();
        assertThat(sbomManifest.path("subject").path("digest").asText()).isEqualTo(subject);

        JsonNode discovered = RegistryHttp.json(orasIn(work, "discover", "--plain-http", "--format", "json",
                "--distribution-spec", "v1.1-referrers-api", ref("crane/app@" + subject)).stdout());
        assertThat(discovered.path("digest").asText()).isEqualTo(subject);
        assertThat(discovered.path("referrers")).hasSize(1);
        assertThat(discovered.path("referrers").get(0).path("digest").asText()).isEqualTo(sbom);
        assertThat(discovered.path("referrers").get(0).path("artifactType").asText()).isEqualTo(SBOM_TYPE);
        JsonNode filtered = RegistryHttp.json(orasIn(work, "discover", "--plain-http", "--format", "json",
                "--artifact-type", "application/vnd.berth.other", ref("crane/app:v1")).stdout());
        assertThat(filtered.path("referrers")).isEmpty();

        // The referrers API itself, filtered by artifactType on the server.
        RegistryHttp.Response referrers = http.get("/v2/crane/app/referrers/" + subject
                + "?artifactType=" + URLEncoder.encode(SBOM_TYPE, StandardCharsets.UTF_8));
        assertThat(referrers.status()).isEqualTo(200);
        assertThat(referrers.headers().firstValue("Content-Type")).hasValue("application/vnd.oci.image.index.v1+json");
        assertThat(referrers.headers().firstValue("OCI-Filters-Applied")).hasValue("artifactType");
        JsonNode index = RegistryHttp.json(referrers.body());
        assertThat(index.path("manifests")).hasSize(1);
        JsonNode descriptor = index.path("manifests").get(0);
        assertThat(descriptor.path("digest").asText()).isEqualTo(sbom);
        assertThat(descriptor.path("artifactType").asText()).isEqualTo(SBOM_TYPE);
        assertThat(descriptor.path("mediaType").asText()).isEqualTo("application/vnd.oci.image.manifest.v1+json");
        assertThat(descriptor.path("size").asLong()).isEqualTo(http.requireManifest("crane/app", sbom).body().length);
        // Berth answered the PUT with OCI-Subject, so oras made no fallback tag (sha256-<hex>).
        assertThat(orasIn(work, "repo", "tags", "--plain-http", ref("crane/app")).text().strip().lines()).containsExactly("v1");
    }

    @Test
    void repoTagsListsEveryTagAndManifestFetchMatchesTheRegistry() throws Exception {
        String digest = pushTwoFiles(twoFiles("tagged", 320), "oras/tags:v1");
        orasIn(work, "tag", "--plain-http", ref("oras/tags:v1"), "v2", "latest");

        List<String> tags = orasIn(work, "repo", "tags", "--plain-http", ref("oras/tags")).text().strip().lines().toList();
        assertThat(tags).containsExactlyInAnyOrder("v1", "v2", "latest");
        for (String tag : tags) {
            byte[] served = http.requireManifest("oras/tags", tag).body();
            assertThat(RegistryClient.sha256(served)).as("tag %s", tag).isEqualTo(digest);
            assertThat(orasIn(work, "manifest", "fetch", "--plain-http", ref("oras/tags:" + tag)).stdout()).isEqualTo(served);
        }
        // oras repo tags of a reference lists the tags pointing at the same manifest.
        assertThat(orasIn(work, "repo", "tags", "--plain-http", ref("oras/tags@" + digest)).text().strip().lines())
                .containsExactlyInAnyOrder("v1", "v2", "latest");
    }
}
