package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.RegistryClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's run command as a new user runs it: {@code bin/berth serve} as a separate process,
 * configured only by registry:2's environment overrides, then a real client pushes and pulls.
 */
class BinBerthIT {
    private static final Path REPO_ROOT = Path.of("..").toAbsolutePath().normalize();

    @Test
    void binBerthServeWithEnvironmentOverridesServesPushAndPull(@TempDir Path work) throws Exception {
        int port = freePort();
        Path data = work.resolve("data");
        ProcessBuilder pb = new ProcessBuilder(REPO_ROOT.resolve("bin/berth").toString(), "serve")
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("berth.log").toFile());
        pb.environment().put("REGISTRY_HTTP_ADDR", "127.0.0.1:" + port);
        pb.environment().put("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", data.toString());
        pb.environment().put("REGISTRY_LOG_LEVEL", "warn");
        pb.environment().put("REGISTRY_REDIS_ADDR", "localhost:6379");
        Process berth = pb.start();
        try {
            awaitUp(port, berth, work.resolve("berth.log"));
            String log = Files.readString(work.resolve("berth.log"));
            assertThat(log).contains("serving http://127.0.0.1:" + port + "/v2/ with data in " + data);
            assertThat(log).contains("redis.addr is not supported by Berth and is ignored");

            Path layer = TestImages.randomLayer(work, "payload", 200_000, 7);
            String ref = "127.0.0.1:" + port + "/readme/app:v1";
            Map<String, String> env = Map.of("HOME", work.toString(), "DOCKER_CONFIG", work.resolve("docker").toString());
            Proc.ok(List.of(Peers.tool("CRANE"), "append", "-f", layer.toString(), "-t", ref, "--insecure"), env, Duration.ofMinutes(2));
            String digest = Proc.ok(List.of(Peers.tool("CRANE"), "digest", ref, "--insecure"), env, Duration.ofMinutes(1)).output().strip();
            assertThat(digest).startsWith("sha256:");
            Path out = work.resolve("pulled.tar");
            Proc.ok(List.of(Peers.tool("CRANE"), "pull", "--insecure", "127.0.0.1:" + port + "/readme/app@" + digest, out.toString()),
                    env, Duration.ofMinutes(2));
            assertThat(out).isNotEmptyFile();
            assertThat(data.resolve("docker/registry/v2/repositories/readme/app/_manifests/tags/v1/current/link"))
                    .hasContent(digest);
        } finally {
            Proc.kill(berth);
        }
        assertThat(berth.isAlive()).isFalse();
    }

    private static void awaitUp(int port, Process berth, Path log) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        try (RegistryClient http = RegistryClient.of(URI.create("http://127.0.0.1:" + port))) {
            while (System.nanoTime() < deadline) {
                if (!berth.isAlive()) {
                    throw new AssertionError("bin/berth exited " + berth.exitValue() + ":\n" + Files.readString(log));
                }
                try {
                    if (http.get("/v2/").statusCode() == 200) {
                        return;
                    }
                } catch (UncheckedIOException e) {
                    // not up yet
                }
                Thread.sleep(200);
            }
        }
        throw new AssertionError("bin/berth did not come up:\n" + Files.readString(log));
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
