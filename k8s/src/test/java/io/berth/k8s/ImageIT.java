package io.berth.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.ContainerConfig;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.Volume;
import io.berth.conformance.Daemon;
import io.berth.conformance.DockerDaemon;
import io.berth.conformance.Proc;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * Berth's container image, as Jib built it in pre-integration-test (on the locally assembled base, with its start-up
 * cache), loaded into a private dockerd and run the way a cluster runs it: non-root, read-only root filesystem, no
 * capabilities. It starts from the AOT cache with no signed jar on its class path, serves a crane push and pull, and
 * a push of Berth's own image, pulled back by digest.
 *
 * <p>Containers are run through Testcontainers on the private dockerd's socket: the {@code DOCKER_HOST} system
 * property, which Testcontainers reads with {@code TESTCONTAINERS_DOCKERCONFIG_SOURCE=autoIgnoringUserProperties}
 * (failsafe sets it; a fixed {@code DOCKER_HOST} in the environment cannot name a socket made per run). Its Docker API is 1.41 (Debian's docker.io 20.10), which Testcontainers 2.0's
 * docker-java negotiates. Ryuk, Testcontainers'
 * reaper, is an image from Docker Hub, which is out of reach: it is disabled (failsafe sets
 * {@code TESTCONTAINERS_RYUK_DISABLED}), and this test removes its containers and stops the daemon itself. The image
 * is local ({@code docker load} of Jib's tarball) and never pulled. Pushing and pulling through the registry in the
 * container stay with the docker CLI, as a user does them.
 */
class ImageIT {
    /** The JVM's own report of the cache and of where each class came from, in the container's /tmp. */
    private static final String JVM_LOG = "/tmp/jvm.log";

    @TempDir
    static Path work;

    private static DockerDaemon docker;
    private static DockerClient client;
    private static String image;
    private static int port;
    private static int debugPort;
    private static GenericContainer<?> berth;

    @BeforeAll
    static void start() throws IOException {
        image = System.getProperty("berth.image.name", "berth-test/berth:0.1.0-SNAPSHOT");
        docker = DockerDaemon.start(work.resolve("docker"), Duration.ofMinutes(5));
        // docker-java reads DOCKER_HOST from the system properties too; the socket is made per run, so the
        // environment cannot name it (see the class comment).
        System.setProperty("DOCKER_HOST", docker.host());
        // Testcontainers 2.0 asks for API 1.44 (what Docker 29 needs at least); Debian's dockerd 20.10 answers 400 to
        // it and serves 1.41 at most, which has every call this test makes.
        System.setProperty("api.version", "1.41");
        client = DockerClientFactory.instance().client();
        try (InputStream tar = Files.newInputStream(Path.of(System.getProperty("berth.image.tar", "target/berth-image-test.tar")))) {
            client.loadImageCmd(tar).exec();
        }
        port = Daemon.freePort();
        debugPort = Daemon.freePort();
        berth = container(port, debugPort)
                // The JVM logs the cache it maps and the source of every class it loads (JAVA_TOOL_OPTIONS adds to
                // the entrypoint's options, so the cache is used as without it).
                .withEnv("JAVA_TOOL_OPTIONS", "-Xlog:aot,class+load:file=" + JVM_LOG);
        berth.start();
        awaitHealthy(berth, debugPort);
    }

    /** The image as a cluster runs it, on the host's network: non-root, read-only, no capabilities. */
    private static GenericContainer<?> container(int port, int debugPort) {
        return new GenericContainer<>(DockerImageName.parse(image))
                .withImagePullPolicy(name -> false)
                .withNetworkMode("host")
                .withTmpFs(Map.of("/tmp", "rw"))
                .withEnv("REGISTRY_HTTP_ADDR", "127.0.0.1:" + port)
                .withEnv("REGISTRY_HTTP_DEBUG_ADDR", "127.0.0.1:" + debugPort)
                .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig()
                        .withReadonlyRootfs(true)
                        .withCapDrop(Capability.ALL)
                        .withSecurityOpts(List.of("no-new-privileges")))
                .waitingFor(Wait.forLogMessage(".*listening on .*", 1).withStartupTimeout(Duration.ofMinutes(2)));
    }

    private static void awaitHealthy(GenericContainer<?> container, int debugPort) {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (status("http://127.0.0.1:" + debugPort + "/debug/health") != 200) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("Berth's container did not become healthy:\n" + container.getLogs());
            }
            Daemon.sleep(Duration.ofMillis(250));
        }
    }

    @AfterAll
    static void stop() {
        if (docker == null) {
            return;
        }
        try {
            if (berth != null) {
                String id = berth.getContainerId();
                // Berth stops on SIGTERM within the grace period, as it must under a kubelet (Testcontainers' own
                // stop kills).
                client.stopContainerCmd(id).withTimeout(20).exec();
                Long exitCode = client.inspectContainerCmd(id).exec().getState().getExitCodeLong();
                berth.stop();
                assertThat(exitCode).isIn(0L, 143L);
            }
        } finally {
            docker.close();
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

    private static String exec(GenericContainer<?> container, String... command) throws IOException, InterruptedException {
        ExecResult result = container.execInContainer(command);
        assertThat(result.getExitCode()).as("%s: %s", String.join(" ", command), result.getStderr()).isZero();
        return result.getStdout();
    }

    @Test
    void theImageKeepsRegistry2sContractAndRunsAsNonRoot() throws Exception {
        InspectImageResponse inspected = client.inspectImageCmd(image).exec();
        ContainerConfig config = inspected.getConfig();
        assertThat(config).isNotNull();
        assertThat(config.getEntrypoint()).containsExactly("/usr/local/bin/berth");
        assertThat(config.getCmd()).containsExactly("serve", "/etc/docker/registry/config.yml");
        assertThat(config.getUser()).isEqualTo("65532:0");
        assertThat(config.getExposedPorts()).contains(ExposedPort.tcp(5000));
        assertThat(config.getVolumes()).containsKey("/var/lib/registry");
        Map<String, String> labels = config.getLabels();
        for (String label : List.of("title", "description", "version", "vendor", "base.name")) {
            assertThat(labels.get("org.opencontainers.image." + label)).as(label).isNotEmpty();
        }
        assertThat(exec(berth, "id", "-u").strip()).isEqualTo("65532");
    }

    @Test
    void theContainerStartsFromTheAotCache() throws Exception {
        assertThat(berth.getLogs()).contains("berth: starting from the start-up cache /app/berth.aot");
        String jvmLog = exec(berth, "cat", JVM_LOG);
        assertThat(jvmLog).contains("Opened AOT cache /app/berth.aot.");
        // Classes of Berth and of BouncyCastle come out of the cache, not from their jars.
        assertThat(jvmLog).containsPattern("io\\.berth\\.server\\.cli\\.BerthCommand source: shared objects file");
        assertThat(jvmLog).containsPattern("org\\.bouncycastle\\.\\S+ source: shared objects file");
        assertThat(jvmLog).doesNotContain("[error");
    }

    @Test
    void theImageHoldsNoSignedJar() throws Exception {
        List<String> jars = new ArrayList<>(List.of("/app/berth-server.jar"));
        Arrays.stream(exec(berth, "ls", "/app/lib").split("\\s+")).filter(n -> n.endsWith(".jar")).map(n -> "/app/lib/" + n).forEach(jars::add);
        assertThat(jars).anyMatch(j -> j.contains("/bcprov-")).anyMatch(j -> j.contains("/bcpkix-")).anyMatch(j -> j.contains("/bcutil-"));
        // Jib's own dependency directory stays empty: the class path is berth-server.jar's, from /app/lib.
        assertThat(exec(berth, "ls", "/app").split("\\s+")).doesNotContain("libs");
        for (String jar : jars) {
            List<String> signatures = berth.copyFileFromContainer(jar, ImageIT::signatureFiles);
            assertThat(signatures).as(jar).isEmpty();
        }
    }

    private static List<String> signatureFiles(InputStream in) throws IOException {
        List<String> found = new ArrayList<>();
        try (JarInputStream jar = new JarInputStream(in)) {
            for (JarEntry e = jar.getNextJarEntry(); e != null; e = jar.getNextJarEntry()) {
                if (e.getName().matches("META-INF/[^/]+\\.(SF|RSA|DSA|EC)")) {
                    found.add(e.getName());
                }
            }
        }
        return found;
    }

    @Test
    void aCacheMadeForAnotherJvmIsSkippedAndBerthStillStarts() throws IOException {
        // What the published image meets on a base whose JVM is not the one the cache was made with.
        Path otherRelease = work.resolve("other-release");
        Files.writeString(otherRelease, "JAVA_VERSION=\"25.0.0\"\nJAVA_RUNTIME_VERSION=\"25.0.0+1-other\"\n");
        otherRelease.toFile().setReadable(true, false);
        int otherPort = Daemon.freePort();
        int otherDebugPort = Daemon.freePort();
        // A plain bind: Testcontainers' withFileSystemBind first probes the daemon with alpine from Docker Hub.
        try (GenericContainer<?> other = container(otherPort, otherDebugPort)
                .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig()
                        .withBinds(new Bind(otherRelease.toString(), new Volume("/app/berth.aot.release"), AccessMode.ro)))) {
            other.start();
            awaitHealthy(other, otherDebugPort);
            assertThat(other.getLogs())
                    .contains("berth: the start-up cache /app/berth.aot was made for another JVM than /opt/java/openjdk")
                    .contains("25.0.0+1-other")
                    .doesNotContain("starting from the start-up cache");
            assertThat(status("http://127.0.0.1:" + otherPort + "/v2/")).isEqualTo(200);
        }
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
