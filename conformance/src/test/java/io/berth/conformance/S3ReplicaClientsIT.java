package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.testing.RegistryClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real clients through nginx as a round-robin load balancer in front of three Berth replicas on one S3 bucket (issue
 * 10): an {@code upstream} of the three, no stickiness, no retry on another replica ({@code proxy_next_upstream off}),
 * bodies streamed both ways. Plain HTTP on 127.0.0.1, which docker treats as an insecure registry and crane and ctr
 * take with {@code --insecure} and {@code --plain-http}: TLS is nginx's business and NginxProxyIT's, not the replicas'.
 * nginx's access log names the replica of every request, so each test checks that the uploads it made were spread.
 */
class S3ReplicaClientsIT {
    private static final Pattern UPLOAD_ID = Pattern.compile("/blobs/uploads/([^/?\\s]+)");

    @TempDir
    static Path work;

    private static S3Replicas replicas;
    private static Daemon nginx;
    private static Path accessLog;
    private static String host;

    @BeforeAll
    static void start() throws IOException {
        replicas = S3Replicas.start(Files.createDirectories(work.resolve("s3")), 3, "");
        int port = Daemon.freePort();
        host = "127.0.0.1:" + port;
        Path prefix = Files.createDirectories(work.resolve("nginx"));
        accessLog = prefix.resolve("access.log");
        String upstreams = replicas.all().stream().map(r -> "        server " + r.hostAndPort() + ";").collect(Collectors.joining("\n"));
        Path conf = Files.writeString(prefix.resolve("nginx.conf"), """
                daemon off;
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %1$s/error.log warn;
                events {}
                http {
                    log_format replicas '$request_method $uri $status $upstream_addr $sent_http_location';
                    access_log %3$s replicas;
                    client_body_temp_path %1$s/body;
                    proxy_temp_path %1$s/proxy;
                    fastcgi_temp_path %1$s/fastcgi;
                    uwsgi_temp_path %1$s/uwsgi;
                    scgi_temp_path %1$s/scgi;
                    client_max_body_size 0;
                    upstream berth {
                %4$s
                    }
                    server {
                        listen 127.0.0.1:%2$d;
                        location / {
                            proxy_pass http://berth;
                            proxy_http_version 1.1;
                            proxy_request_buffering off;
                            proxy_buffering off;
                            proxy_next_upstream off;
                            proxy_read_timeout 300s;
                            proxy_send_timeout 300s;
                            proxy_set_header Host $http_host;
                            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                        }
                    }
                }
                """.formatted(prefix, port, accessLog, upstreams));
        nginx = Daemon.start(List.of(Peers.tool("NGINX"), "-p", prefix.toString(), "-c", conf.toString(), "-e", prefix.resolve("error.log").toString()),
                Map.of(), Duration.ofSeconds(30), () -> listening(port));
    }

    @AfterAll
    static void stop() {
        Daemon.closeAll(nginx, replicas);
    }

    @Test
    void cranePushesAndPullsAMultiLayerImageThroughRoundRobin() throws IOException {
        Path dir = Files.createDirectories(work.resolve("crane"));
        PeerCli crane = PeerCli.of("CRANE", dir.resolve("home"));
        String ref = host + "/lb/crane:v1";
        int logFrom = accessLines().size();
        // A busybox root file system, a layer larger than two S3 parts, and a small one.
        List<Path> layers = List.of(TestImages.busyboxRootfs(dir), TestImages.randomLayer(dir, "big", 2 * S3Replicas.CHUNK_SIZE + 4099, 5),
                TestImages.randomLayer(dir, "small", 3000, 6));
        List<String> append = new ArrayList<>(List.of("append", "--insecure", "-t", ref));
        layers.forEach(l -> append.addAll(List.of("-f", l.toString())));
        String digest = CraneSeed.digestOf(crane.text(append.toArray(String[]::new)));
        assertUploadsSpreadOverReplicas(logFrom);

        crane.ok("validate", "--insecure", "--remote", ref);
        assertThat(crane.text("digest", "--insecure", ref)).isEqualTo(digest);
        Path pulled = dir.resolve("pulled");
        crane.ok("pull", "--insecure", "--format", "oci", host + "/lb/crane@" + digest, pulled.toString());
        assertThat(Files.readString(pulled.resolve("index.json"))).contains(digest);
        // crane compressed the layers: the config's diff_ids are the tarballs' digests.
        JsonNode manifest = RegistryHttp.json(blob(pulled, digest));
        JsonNode config = RegistryHttp.json(blob(pulled, manifest.path("config").path("digest").asText()));
        List<String> diffIds = new ArrayList<>();
        config.path("rootfs").path("diff_ids").forEach(d -> diffIds.add(d.asText()));
        assertThat(diffIds).as("the pulled image's diff_ids").containsExactlyElementsOf(layers.stream().map(RegistryClient::sha256).toList());
        for (JsonNode layer : manifest.path("layers")) {
            String d = layer.path("digest").asText();
            assertThat(RegistryClient.sha256(blob(pulled, d))).as("layer %s, pulled", d).isEqualTo(d);
        }
    }

    private static byte[] blob(Path layout, String digest) throws IOException {
        return Files.readAllBytes(layout.resolve("blobs/sha256/" + digest.substring("sha256:".length())));
    }

    @Test
    void dockerPushesAndPullsThroughRoundRobin() throws IOException {
        Path dir = Files.createDirectories(work.resolve("docker"));
        try (DockerDaemon docker = DockerDaemon.start(dir)) {
            String ref = host + "/lb/docker:v1";
            String base = docker.buildOffline(dir, ref);
            String imageId = docker.ok("image", "inspect", "--format", "{{.Id}}", ref).strip();
            int logFrom = accessLines().size();
            String push = docker.ok("push", ref);
            Matcher pushed = Pattern.compile("v1: digest: (sha256:[0-9a-f]{64}) size: \\d+").matcher(push);
            assertThat(pushed.find()).as("a digest in the output of docker push:%n%s", push).isTrue();
            String digest = pushed.group(1);
            assertUploadsSpreadOverReplicas(logFrom);

            docker.ok("rmi", ref, base);
            assertThat(docker.ok("pull", ref)).contains("Digest: " + digest);
            assertThat(docker.ok("image", "inspect", "--format", "{{.Id}}", ref).strip()).as("the image id after the pull").isEqualTo(imageId);
            for (S3Replicas.Replica each : replicas.all()) {
                assertThat(each.http().requireManifest("lb/docker", "v1").digest()).as("lb/docker:v1 on %s", each).isEqualTo(digest);
            }
        }
    }

    @Test
    void containerdPullsThroughRoundRobinAnImagePushedThroughIt() throws IOException {
        Path dir = Files.createDirectories(work.resolve("ctr"));
        PeerCli crane = PeerCli.of("CRANE", dir.resolve("home"));
        Path big = TestImages.randomLayer(dir, "big", S3Replicas.CHUNK_SIZE + 77, 8);
        String digest = CraneSeed.digestOf(crane.text("append", "--insecure", "-t", host + "/lb/ctr:v1",
                "-f", TestImages.busyboxRootfs(dir).toString(), "-f", big.toString()));
        try (Containerd containerd = Containerd.start(dir.resolve("containerd"), host)) {
            String ref = host + "/lb/ctr@" + digest;
            assertThat(containerd.ctrOk("images", "pull", "--plain-http", ref)).containsPattern("unpacking linux/\\S+ " + digest);
            String check = containerd.ctrOk("images", "check");
            assertThat(check.lines().filter(l -> l.startsWith(ref + " ")).toList()).as("`ctr images check`:%n%s", check)
                    .singleElement().asString().contains("complete (3/3)").endsWith(" true");
        }
    }

    /**
     * The uploads logged since line {@code from} (POST, PATCH, PUT, grouped by upload id) reached all three replicas, and
     * at least one of them was written through more than one: the push really crossed replicas.
     */
    private static void assertUploadsSpreadOverReplicas(int from) {
        List<String> lines = accessLines();
        Map<String, Set<String>> replicasByUpload = new HashMap<>();
        Set<String> all = new HashSet<>();
        for (String line : lines.subList(from, lines.size())) {
            String[] f = line.split(" ");
            if (f.length < 4 || !f[1].contains("/blobs/uploads/")) {
                continue;
            }
            Matcher id = UPLOAD_ID.matcher(f[0].equals("POST") && f.length > 4 ? f[4] : f[1]);
            if (id.find()) {
                replicasByUpload.computeIfAbsent(id.group(1), k -> new HashSet<>()).add(f[3]);
                all.add(f[3]);
            }
        }
        String log = String.join("\n", lines.subList(from, lines.size()));
        assertThat(all).as("replicas that served uploads:%n%s", log).hasSize(3);
        assertThat(replicasByUpload.values()).as("replicas of each upload:%n%s", log).anySatisfy(s -> assertThat(s).hasSizeGreaterThan(1));
    }

    private static List<String> accessLines() {
        try {
            return Files.exists(accessLog) ? Files.readAllLines(accessLog) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
