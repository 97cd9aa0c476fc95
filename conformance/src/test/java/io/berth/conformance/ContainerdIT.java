package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.server.Berth;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A private containerd against a live Berth, pulling images crane seeded: with {@code ctr} (containerd's own
 * resolver and {@code --plain-http}) and through the CRI as the kubelet pulls ({@code crictl}, with the
 * registry made plain HTTP by {@code certs.d/<host>/hosts.toml}).
 */
class ContainerdIT {
    @TempDir
    static Path work;

    private static Berth berth;
    private static Containerd containerd;
    private static String host;

    @BeforeAll
    static void start() {
        berth = Berth.builder().temporaryStorage().port(0).build();
        berth.start();
        host = berth.hostAndPort();
        containerd = Containerd.start(work.resolve("containerd"), host);
    }

    @AfterAll
    static void stop() {
        Daemon.closeAll(containerd, berth);
    }

    @Test
    void ctrPullsAMultiLayerImageByDigest() {
        String digest = new CraneSeed(berth, work.resolve("seed-ctr")).image("seed/app:1", 11);
        String ref = host + "/seed/app@" + digest;

        String pull = containerd.ctrOk("images", "pull", "--plain-http", ref);
        assertThat(pull).containsPattern("unpacking linux/\\S+ " + digest);

        String ls = containerd.ctrOk("images", "ls");
        assertThat(ls.lines().filter(l -> l.startsWith(ref + " ")).toList())
                .as("the image in `ctr images ls`:%n%s", ls).singleElement().asString().contains(" " + digest + " ");
        String check = containerd.ctrOk("images", "check");
        assertThat(check.lines().filter(l -> l.startsWith(ref + " ")).toList())
                .as("the image in `ctr images check`:%n%s", check).singleElement().asString()
                .contains("complete (3/3)") // config and both layers
                .endsWith(" true"); // unpacked
    }

    @Test
    void criPullImageByDigestRecordsTheDigest() {
        String digest = new CraneSeed(berth, work.resolve("seed-cri")).image("seed/cri:1", 22);
        String ref = host + "/seed/cri@" + digest;
        RegistryHttp.Response manifest = new RegistryHttp(berth).manifest("seed/cri", digest, RegistryHttp.DOCKER_MANIFEST, RegistryHttp.OCI_MANIFEST);
        assertThat(manifest.status()).as("GET the seeded manifest: %s", manifest).isEqualTo(200);
        String config = manifest.json().path("config").path("digest").asText();

        assertThat(containerd.crictlOk("pull", ref)).contains("Image is up to date for " + config);

        JsonNode status = RegistryHttp.json(containerd.crictlOk("inspecti", "--output", "json", ref)).path("status");
        assertThat(status.path("id").asText()).isEqualTo(config);
        assertThat(texts(status.path("repoDigests"))).contains(ref);

        // The kubelet pulls by tag too; the tag resolves to the same image.
        assertThat(containerd.crictlOk("pull", host + "/seed/cri:1")).contains("Image is up to date for " + config);
        JsonNode byTag = RegistryHttp.json(containerd.crictlOk("inspecti", "--output", "json", host + "/seed/cri:1")).path("status");
        assertThat(texts(byTag.path("repoTags"))).contains(host + "/seed/cri:1");
        assertThat(texts(byTag.path("repoDigests"))).contains(ref);
    }

    @Test
    void pullOfATagBerthDoesNotHaveFails() {
        String missing = host + "/seed/absent:nope";

        Proc.Result ctr = containerd.ctr(Duration.ofMinutes(1), "images", "pull", "--plain-http", missing);
        assertThat(ctr.exitCode()).as("exit code of ctr images pull:%n%s", ctr.output()).isNotZero();
        assertThat(ctr.output()).contains(missing + ": not found");

        Proc.Result cri = containerd.crictl(Duration.ofMinutes(1), "pull", missing);
        assertThat(cri.exitCode()).as("exit code of crictl pull:%n%s", cri.output()).isNotZero();
        assertThat(cri.output()).contains("NotFound");
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
