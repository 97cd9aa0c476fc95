package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.server.Berth;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A private dockerd and the docker CLI against a live Berth: an image made offline (the busybox root file
 * system imported, plus a layer from the legacy builder) is pushed, pulled back by tag and by digest, and run.
 * The docker CLI is the client under test here, so the commands are the CLI's, not Testcontainers' (see {@link DockerDaemon}).
 */
class DockerIT {
    private static final Pattern PUSHED = Pattern.compile("v1: digest: (sha256:[0-9a-f]{64}) size: (\\d+)");

    @TempDir
    static Path work;

    private static Berth berth;
    private static DockerDaemon docker;

    @BeforeAll
    static void start() {
        berth = Berth.builder().temporaryStorage().port(0).build();
        berth.start();
        docker = DockerDaemon.start(work);
    }

    @AfterAll
    static void stop() {
        Daemon.closeAll(docker, berth);
    }

    @Test
    void dockerPushThenPullByDigestRunsTheImage() throws IOException {
        String repo = berth.hostAndPort() + "/docker/app";
        String base = docker.buildOffline(work, repo + ":v1");
        String imageId = inspect(repo + ":v1", "{{.Id}}");

        String push = docker.ok("push", repo + ":v1");
        Matcher pushed = PUSHED.matcher(push);
        assertThat(pushed.find()).as("a digest in the output of docker push:%n%s", push).isTrue();
        String digest = pushed.group(1);
        assertThat(inspect(repo + ":v1", "{{index .RepoDigests 0}}")).isEqualTo(repo + "@" + digest);

        RegistryHttp.Response manifest = new RegistryHttp(berth).manifest("docker/app", "v1", RegistryHttp.DOCKER_MANIFEST);
        assertThat(manifest.status()).as("GET /v2/docker/app/manifests/v1: %s", manifest).isEqualTo(200);
        assertThat(manifest.header("Docker-Content-Digest")).as("Docker-Content-Digest").isEqualTo(digest);
        assertThat(manifest.sha256()).as("sha256 of the manifest Berth serves").isEqualTo(digest);
        assertThat(manifest.header("Content-Type")).isEqualTo(RegistryHttp.DOCKER_MANIFEST);
        assertThat(manifest.body()).hasSize(Integer.parseInt(pushed.group(2)));
        assertThat(manifest.json().path("layers")).as("layers of %s", manifest).hasSize(2);

        docker.ok("rmi", repo + ":v1", base);
        assertThat(docker.ok("images", "--quiet", "--all")).as("images left after rmi").isBlank();

        assertThat(docker.ok("pull", repo + ":v1")).contains("Digest: " + digest);
        assertThat(inspect(repo + ":v1", "{{index .RepoDigests 0}}")).isEqualTo(repo + "@" + digest);
        assertThat(inspect(repo + ":v1", "{{.Id}}")).as("image id (config digest) after the pull").isEqualTo(imageId);
        docker.ok("rmi", repo + ":v1");

        assertThat(docker.ok("pull", repo + "@" + digest)).contains("Digest: " + digest);
        assertThat(inspect(repo + "@" + digest, "{{.Id}}")).isEqualTo(imageId);

        String run = docker.ok("run", "--rm", "--network", "none", repo + "@" + digest, "/bin/busybox", "cat", "/etc/berth-test");
        assertThat(run).contains("served by berth");
    }

    @Test
    void dockerPullOfATagBerthDoesNotHaveFails() {
        Proc.Result pull = docker.run(Duration.ofMinutes(1), "pull", berth.hostAndPort() + "/docker/missing:nope");
        assertThat(pull.exitCode()).as("exit code of docker pull:%n%s", pull.output()).isNotZero();
        assertThat(pull.output()).contains("not found");
    }

    private static String inspect(String image, String format) {
        return docker.ok("image", "inspect", "--format", format, image).strip();
    }
}
