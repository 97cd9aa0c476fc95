package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.server.Berth;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Podman, as root with storage of its own (vfs under a temporary directory), against a live Berth: an image
 * seeded with crane is pulled, retagged, pushed and pulled back; a two-architecture manifest list is pushed
 * with {@code podman manifest push --all} and read back through the HTTP API.
 */
class PodmanIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    @TempDir
    static Path work;

    private static Berth berth;
    private static RegistryHttp http;
    private static String host;
    private static Map<String, String> env;

    @BeforeAll
    static void start() throws IOException {
        berth = Berth.builder().temporaryStorage().port(0).build();
        berth.start();
        http = new RegistryHttp(berth);
        host = berth.hostAndPort();
        // Nothing from the host's registries.conf or auth file: no search registries, no mirrors.
        Path registries = Files.writeString(work.resolve("registries.conf"), "unqualified-search-registries = []\n");
        env = Map.of("CONTAINERS_REGISTRIES_CONF", registries.toString(),
                "REGISTRY_AUTH_FILE", Files.writeString(work.resolve("auth.json"), "{}").toString(),
                "TMPDIR", Files.createDirectories(work.resolve("tmp")).toString());
    }

    @AfterAll
    static void stop() {
        if (berth != null) {
            berth.close();
        }
    }

    @Test
    void podmanPushThenPullByTagAndDigestKeepsTheDigest(@TempDir Path store) throws IOException {
        Podman podman = new Podman(store);
        String seed = host + "/seed/busybox:1";
        new CraneSeed(berth, store.resolve("seed")).image("seed/busybox:1", 1);
        podman.ok("pull", "--tls-verify=false", seed);
        String imageId = podman.ok("image", "inspect", "--format", "{{.Id}}", seed).strip();

        String app = host + "/podman/app";
        podman.ok("tag", seed, app + ":v1");
        Path digestFile = store.resolve("app.digest");
        podman.ok("push", "--tls-verify=false", "--digestfile", digestFile.toString(), app + ":v1");
        String digest = Files.readString(digestFile).strip();
        assertThat(digest).matches("sha256:[0-9a-f]{64}");

        RegistryHttp.Response manifest = http.manifest("podman/app", "v1",
                RegistryHttp.OCI_MANIFEST, RegistryHttp.DOCKER_MANIFEST);
        assertThat(manifest.status()).as("GET /v2/podman/app/manifests/v1: %s", manifest).isEqualTo(200);
        assertThat(manifest.header("Docker-Content-Digest")).isEqualTo(digest);
        assertThat(manifest.sha256()).as("sha256 of the manifest Berth serves").isEqualTo(digest);

        podman.ok("rmi", app + ":v1", seed);
        assertThat(podman.ok("images", "--quiet")).as("images left after rmi").isBlank();

        podman.ok("pull", "--tls-verify=false", app + ":v1");
        assertThat(podman.ok("image", "inspect", "--format", "{{.Digest}}", app + ":v1").strip()).isEqualTo(digest);
        assertThat(podman.ok("image", "inspect", "--format", "{{.Id}}", app + ":v1").strip()).isEqualTo(imageId);
        podman.ok("rmi", app + ":v1");

        podman.ok("pull", "--tls-verify=false", app + "@" + digest);
        assertThat(podman.ok("image", "inspect", "--format", "{{.Digest}}", app + "@" + digest).strip()).isEqualTo(digest);
        assertThat(podman.ok("image", "inspect", "--format", "{{.Id}}", app + "@" + digest).strip()).isEqualTo(imageId);
    }

    @Test
    void podmanManifestPushAllStoresAnIndexOfBothArchitectures(@TempDir Path store) throws IOException {
        Podman podman = new Podman(store);
        String amd64 = "localhost/berth-it/multi-amd64:1";
        String arm64 = "localhost/berth-it/multi-arm64:1";
        podman.ok("import", TestImages.busyboxRootfs(Files.createDirectories(store.resolve("amd64"))).toString(), amd64);
        podman.ok("import", TestImages.randomLayer(Files.createDirectories(store.resolve("arm64")), "arm64-payload", 32 * 1024, 64).toString(), arm64);
        String list = "localhost/berth-it/multi:v1";
        podman.ok("manifest", "create", list);
        // --arch overrides what the image's config says (both imports say the host's architecture).
        podman.ok("manifest", "add", "--os", "linux", "--arch", "amd64", list, "containers-storage:" + amd64);
        podman.ok("manifest", "add", "--os", "linux", "--arch", "arm64", list, "containers-storage:" + arm64);
        Path digestFile = store.resolve("multi.digest");
        podman.ok("manifest", "push", "--all", "--tls-verify=false", "--digestfile", digestFile.toString(),
                list, "docker://" + host + "/podman/multi:v1");
        String digest = Files.readString(digestFile).strip();

        RegistryHttp.Response index = http.manifest("podman/multi", "v1",
                RegistryHttp.OCI_INDEX, RegistryHttp.DOCKER_MANIFEST_LIST);
        assertThat(index.status()).as("GET /v2/podman/multi/manifests/v1: %s", index).isEqualTo(200);
        assertThat(index.header("Docker-Content-Digest")).isEqualTo(digest);
        assertThat(index.sha256()).as("sha256 of the index Berth serves").isEqualTo(digest);
        JsonNode json = index.json();
        assertThat(index.header("Content-Type")).isIn(RegistryHttp.OCI_INDEX, RegistryHttp.DOCKER_MANIFEST_LIST)
                .isEqualTo(json.path("mediaType").asText());
        List<String> platforms = new ArrayList<>();
        json.path("manifests").forEach(m -> platforms.add(m.path("platform").path("os").asText() + "/" + m.path("platform").path("architecture").asText()));
        assertThat(platforms).as("platforms in %s", index).containsExactlyInAnyOrder("linux/amd64", "linux/arm64");

        String arm64Config = "";
        String arm64Digest = "";
        for (JsonNode child : json.path("manifests")) {
            String childDigest = child.path("digest").asText();
            RegistryHttp.Response m = http.manifest("podman/multi", childDigest, child.path("mediaType").asText());
            assertThat(m.status()).as("GET the child %s: %s", childDigest, m).isEqualTo(200);
            assertThat(m.header("Docker-Content-Digest")).isEqualTo(childDigest);
            assertThat(m.sha256()).isEqualTo(childDigest);
            assertThat(m.header("Content-Type")).isEqualTo(child.path("mediaType").asText());
            assertThat((long) m.body().length).isEqualTo(child.path("size").asLong());
            String config = m.json().path("config").path("digest").asText();
            RegistryHttp.Response blob = http.blob("podman/multi", config);
            assertThat(blob.status()).as("GET the config blob of %s: %s", childDigest, blob).isEqualTo(200);
            assertThat(blob.sha256()).isEqualTo(config);
            if (child.path("platform").path("architecture").asText().equals("arm64")) {
                arm64Config = config;
                arm64Digest = childDigest;
            }
        }

        // With nothing left locally, a client on arm64 gets its own child from the index.
        podman.ok("manifest", "rm", list);
        podman.ok("rmi", amd64, arm64);
        assertThat(podman.ok("images", "--quiet")).as("images left after rmi").isBlank();
        String multi = host + "/podman/multi";
        podman.ok("pull", "--tls-verify=false", "--arch", "arm64", multi + ":v1");
        assertThat("sha256:" + podman.ok("image", "inspect", "--format", "{{.Id}}", multi + ":v1").strip()).isEqualTo(arm64Config);
        assertThat(podman.ok("image", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", multi + ":v1").lines())
                .contains(multi + "@" + arm64Digest);
    }

    /** Podman with storage of its own under {@code store}, so that no test sees another's images. */
    private record Podman(Path store) {
        /** Runs podman, failing with its output when it exits non-zero; returns the output. */
        String ok(String... args) {
            List<String> command = new ArrayList<>(List.of(Peers.tool("PODMAN"),
                    "--root", store.resolve("root").toString(),
                    "--runroot", store.resolve("run").toString(),
                    "--tmpdir", store.resolve("tmp").toString(),
                    "--storage-driver", "vfs", "--events-backend", "file", "--cgroup-manager", "cgroupfs"));
            command.addAll(List.of(args));
            return Proc.ok(command, env, TIMEOUT).output();
        }
    }
}
