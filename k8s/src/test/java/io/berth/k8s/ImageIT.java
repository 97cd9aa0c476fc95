package io.berth.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.conformance.Daemon;
import io.berth.conformance.DockerDaemon;
import io.berth.conformance.Proc;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Berth's container image, as Jib built it in pre-integration-test (on the locally assembled base), loaded into
 * a private dockerd and run the way a cluster runs it: non-root, read-only root filesystem, no capabilities. It
 * then serves a crane push and pull, and a push of Berth's own image, pulled back by digest.
 */
class ImageIT {
    @TempDir
    static Path work;

    private static DockerDaemon docker;
    private static String image;
    private static int port;
    private static int debugPort;

    @BeforeAll
    static void start() {
        image = System.getProperty("berth.image.name", "berth-test/berth:0.1.0-SNAPSHOT");
        docker = DockerDaemon.start(work.resolve("docker"), Duration.ofMinutes(5));
        docker.ok("load", "--input", System.getProperty("berth.image.tar", "target/berth-image-test.tar"));
        port = Daemon.freePort();
        debugPort = Daemon.freePort();
        docker.ok("run", "--detach", "--name", "berth", "--network", "host",
                "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                "--env", "REGISTRY_HTTP_ADDR=127.0.0.1:" + port,
                "--env", "REGISTRY_HTTP_DEBUG_ADDR=127.0.0.1:" + debugPort,
                image);
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (status("http://127.0.0.1:" + debugPort + "/debug/health") != 200) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Berth's container did not become healthy:\n" + docker.run(Duration.ofSeconds(30), "logs", "berth").output());
            }
            Daemon.sleep(Duration.ofMillis(250));
        }
    }

    @AfterAll
    static void stop() {
        if (docker != null) {
            try {
                // Berth stops on SIGTERM within the grace period, as it must under a kubelet.
                Proc.Result stop = docker.run(Duration.ofSeconds(60), "stop", "--time", "20", "berth");
                assertThat(stop.exitCode()).as("docker stop: %s", stop.output()).isZero();
                assertThat(docker.ok("inspect", "--format", "{{.State.ExitCode}}", "berth").strip()).isIn("0", "143");
                docker.run(Duration.ofSeconds(60), "rm", "--force", "berth");
            } finally {
                docker.close();
            }
        }
    }

    private static int status(String url) {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    @Test
    void theImageKeepsRegistry2sContractAndRunsAsNonRoot() throws IOException {
        JsonNode config = Workloads.JSON.readTree(docker.ok("image", "inspect", "--format", "{{json .Config}}", image));
        assertThat(config.path("Entrypoint").toString()).isEqualTo("[\"/usr/local/bin/berth\"]");
        assertThat(config.path("Cmd").toString()).isEqualTo("[\"serve\",\"/etc/docker/registry/config.yml\"]");
        assertThat(config.path("User").asText()).isEqualTo("65532:0");
        assertThat(config.path("ExposedPorts").has("5000/tcp")).isTrue();
        assertThat(config.path("Volumes").has("/var/lib/registry")).isTrue();
        JsonNode labels = config.path("Labels");
        for (String label : List.of("title", "description", "version", "vendor", "base.name")) {
            assertThat(labels.path("org.opencontainers.image." + label).asText()).as(label).isNotEmpty();
        }
        assertThat(docker.ok("exec", "berth", "id", "-u").strip()).isEqualTo("65532");
    }

    @Test
    void theContainerServesTheRegistryApi() {
        assertThat(status("http://127.0.0.1:" + port + "/")).isEqualTo(200);
        assertThat(status("http://127.0.0.1:" + port + "/v2/")).isEqualTo(200);
        assertThat(status("http://127.0.0.1:" + debugPort + "/metrics")).isEqualTo(200);
    }

    @Test
    void aPushedTestImageIsPulledBackByDigest() throws IOException {
        String crane = Tools.tool("CRANE");
        Path layer = work.resolve("layer.tar");
        Path content = Files.createDirectories(work.resolve("layer"));
        Files.writeString(content.resolve("hello.txt"), "hello from " + getClass().getSimpleName());
        Proc.run(List.of("tar", "-C", content.toString(), "-cf", layer.toString(), "hello.txt"), Map.of(), Duration.ofMinutes(1), null).requireSuccess();
        String ref = "127.0.0.1:" + port + "/test/hello";
        Proc.run(List.of(crane, "append", "--insecure", "-f", layer.toString(), "-t", ref + ":1"), Map.of(), Duration.ofMinutes(2), null).requireSuccess();
        String digest = Proc.run(List.of(crane, "digest", "--insecure", ref + ":1"), Map.of(), Duration.ofMinutes(1), null)
                .requireSuccess().output().strip();
        assertThat(digest).matches("sha256:[0-9a-f]{64}");
        Path pulled = work.resolve("pulled.tar");
        Proc.run(List.of(crane, "pull", "--insecure", ref + "@" + digest, pulled.toString()), Map.of(), Duration.ofMinutes(2), null).requireSuccess();
        assertThat(Files.size(pulled)).isPositive();
    }

    @Test
    void berthsOwnImageIsPushedIntoItAndPulledBackByDigest() {
        String ref = "127.0.0.1:" + port + "/berth/berth";
        docker.ok("tag", image, ref + ":v1");
        String push = docker.ok("push", ref + ":v1");
        String digest = push.lines().filter(l -> l.contains("digest: sha256:")).map(l -> l.replaceAll(".*digest: (sha256:[0-9a-f]{64}).*", "$1"))
                .findFirst().orElseThrow(() -> new AssertionError("no digest in docker push output:\n" + push));
        String id = docker.ok("image", "inspect", "--format", "{{.Id}}", image).strip();
        docker.ok("rmi", ref + ":v1");
        assertThat(docker.ok("pull", ref + "@" + digest)).contains("Digest: " + digest);
        assertThat(docker.ok("image", "inspect", "--format", "{{.Id}}", ref + "@" + digest).strip()).isEqualTo(id);
    }
}
