package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.server.Berth;
import io.berth.server.config.ConfigLoader;
import io.berth.testing.HtpasswdFiles;
import io.berth.testing.RegistryClient;
import io.berth.testing.TestPki;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * registry:2's {@code proxy} section with real peers on both sides: Berth as a pull-through cache of registry:2
 * (Debian's, htpasswd over TLS) and of distribution v3, pulled through by crane and podman, and as the
 * {@code registry-mirrors} of a private dockerd and the {@code hosts.toml} mirror of containerd, both pulling a
 * "Docker Hub" image ({@code docker.io/library/busybox}) with no Internet: the image is only in the local upstream.
 */
class ProxyPeersIT {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final Pattern PUSHED = Pattern.compile("latest: digest: (sha256:[0-9a-f]{64}) size: \\d+");

    /**
     * Upstream: registry:2 over TLS from a test CA, with htpasswd. Berth runs as a process (the built jar), with
     * SSL_CERT_FILE naming the CA as a Go registry would be given it, since the proxy reads its trust from
     * Berth's environment.
     */
    @Test
    void craneAndPodmanPullThroughAProxyOfRegistry2WithHtpasswdOverTlsAndTheCacheServesWhenItIsDown(@TempDir Path work) throws IOException {
        TestPki.Ca ca = TestPki.Ca.root("Berth proxy IT CA");
        Path caPem = ca.writeCertificate(work.resolve("ca.pem"));
        ca.server("127.0.0.1").writeTo(work.resolve("tls.crt"), work.resolve("tls.key"));
        String password = HtpasswdFiles.password("mirror");
        HtpasswdFiles.write(work.resolve("htpasswd"), "mirror", password);
        int upstreamPort = Registry2.freePort();
        Path upstreamConfig = Files.writeString(work.resolve("upstream.yml"), """
                version: 0.1
                log:
                  level: warn
                storage:
                  filesystem:
                    rootdirectory: %s
                http:
                  addr: 127.0.0.1:%d
                  tls:
                    certificate: %s
                    key: %s
                auth:
                  htpasswd:
                    realm: upstream
                    path: %s
                """.formatted(work.resolve("upstream-data"), upstreamPort, work.resolve("tls.crt"), work.resolve("tls.key"), work.resolve("htpasswd")));
        String upstream = "127.0.0.1:" + upstreamPort;
        int proxyPort = Registry2.freePort();
        String proxy = "127.0.0.1:" + proxyPort;
        Path cache = work.resolve("cache-data");
        Path proxyConfig = Files.writeString(work.resolve("proxy.yml"), """
                version: 0.1
                log:
                  level: info
                storage:
                  filesystem:
                    rootdirectory: %s
                http:
                  addr: %s
                proxy:
                  remoteurl: https://%s
                  username: mirror
                  password: %s
                """.formatted(cache, proxy, upstream, password));

        try (LoggedProcess registry2 = LoggedProcess.registry2(upstreamConfig, upstreamPort, work.resolve("upstream.log"));
                LoggedProcess berth = LoggedProcess.berth(proxyConfig, Map.of("SSL_CERT_FILE", caPem.toString()), proxyPort, work.resolve("proxy.log"))) {
            PeerCli pusher = PeerCli.of("CRANE", work.resolve("pusher"), Map.of("SSL_CERT_FILE", caPem.toString()));
            pusher.ok("auth", "login", upstream, "-u", "mirror", "-p", password);
            String digest = seed(pusher, work, upstream + "/library/app:1", "");

            PeerCli crane = PeerCli.of("CRANE", work.resolve("crane"));
            String ref = proxy + "/library/app";
            assertThat(crane.text("digest", "--insecure", ref + ":1").strip()).as("the tag's digest through the proxy").isEqualTo(digest);
            byte[] manifest = crane.bytes("manifest", "--insecure", ref + ":1");
            assertThat(RegistryClient.sha256(manifest)).as("sha256 of the manifest the proxy serves").isEqualTo(digest);
            crane.ok("validate", "--insecure", "--remote", ref + ":1");
            crane.ok("pull", "--insecure", ref + "@" + digest, work.resolve("pulled.tar").toString());

            Podman podman = new Podman(work.resolve("podman"));
            podman.ok("pull", "--tls-verify=false", ref + ":1");
            assertThat(podman.ok("image", "inspect", "--format", "{{.Digest}}", ref + ":1").strip()).isEqualTo(digest);

            List<String> blobs = blobsOf(RegistryHttp.json(manifest));
            assertThat(blobs).hasSize(3); // config and two layers
            Path v2 = cache.resolve("docker/registry/v2");
            for (String blob : blobs) {
                String hex = blob.substring("sha256:".length());
                Path data = v2.resolve("blobs/sha256/" + hex.substring(0, 2) + "/" + hex + "/data");
                assertThat(data).as("blob %s in registry:2's layout", blob).isRegularFile();
                assertThat(RegistryClient.sha256(Files.readAllBytes(data))).isEqualTo(blob);
                assertThat(v2.resolve("repositories/library/app/_layers/sha256/" + hex + "/link")).hasContent(blob);
            }
            String manifestHex = digest.substring("sha256:".length());
            assertThat(v2.resolve("blobs/sha256/" + manifestHex.substring(0, 2) + "/" + manifestHex + "/data")).hasBinaryContent(manifest);
            assertThat(v2.resolve("repositories/library/app/_manifests/tags/1/current/link")).hasContent(digest);
            assertThat(v2.resolve("repositories/library/app/_manifests/revisions/sha256/" + manifestHex + "/link")).hasContent(digest);

            registry2.close();
            assertThat(pusher.run("digest", upstream + "/library/app:1").exitCode()).as("the upstream is down").isNotZero();

            PeerCli afterwards = PeerCli.of("CRANE", work.resolve("crane-after"));
            assertThat(afterwards.text("digest", "--insecure", ref + ":1").strip()).as("the cached tag, upstream down").isEqualTo(digest);
            afterwards.ok("validate", "--insecure", "--remote", ref + "@" + digest);
            podman.ok("rmi", "--all");
            podman.ok("pull", "--tls-verify=false", ref + ":1");
            assertThat(podman.ok("image", "inspect", "--format", "{{.Digest}}", ref + ":1").strip()).isEqualTo(digest);
        }
    }

    /** Upstream: distribution v3, plain HTTP, no auth; Berth in this JVM. */
    @Test
    void cranePullsThroughAProxyOfDistributionV3(@TempDir Path work) throws IOException {
        try (Registry2 upstream = Registry2.serve(Registry2.distributionV3(), work.resolve("upstream-data"), work.resolve("upstream-config"));
                Berth berth = proxyOf(upstream.baseUri().toString(), work)) {
            PeerCli crane = PeerCli.of("CRANE", work.resolve("crane"));
            String digest = seed(crane, work, upstream.hostAndPort() + "/team/tool:v3", "--insecure");

            String ref = berth.hostAndPort() + "/team/tool";
            assertThat(crane.text("digest", "--insecure", ref + ":v3").strip()).isEqualTo(digest);
            assertThat(RegistryClient.sha256(crane.bytes("manifest", "--insecure", ref + "@" + digest))).isEqualTo(digest);
            crane.ok("validate", "--insecure", "--remote", ref + ":v3");
            assertThat(crane.text("ls", "--insecure", ref).lines().toList()).as("tags the proxy lists").contains("v3");
            assertThat(berth.storageDirectory().resolve("docker/registry/v2/repositories/team/tool/_manifests/tags/v3/current/link"))
                    .hasContent(digest);

            String up = upstream.hostAndPort() + "/team/tool";
            String child = CraneSeed.digestOf(crane.text("mutate", "--insecure", "--set-platform", "linux/amd64", "-t", up + ":amd64", up + ":v3"));
            String index = CraneSeed.digestOf(crane.text("index", "append", "--insecure", "-m", up + "@" + child, "-t", up + ":multi"));
            byte[] served = crane.bytes("manifest", "--insecure", ref + ":multi");
            assertThat(RegistryClient.sha256(served)).as("the index through the proxy").isEqualTo(index);
            assertThat(RegistryHttp.json(served).path("manifests").get(0).path("digest").asText()).isEqualTo(child);
            assertThat(crane.text("digest", "--insecure", "--platform", "linux/amd64", ref + ":multi").strip()).isEqualTo(child);
            crane.ok("validate", "--insecure", "--platform", "linux/amd64", "--remote", ref + ":multi");
        }
    }

    /**
     * docker's {@code registry-mirrors}: dockerd started with a daemon.json whose mirror is Berth, which proxies a
     * registry:2 holding {@code library/busybox:latest}; {@code docker pull busybox} (Docker Hub, unreachable here)
     * is answered by the mirror.
     */
    @Test
    void dockerPullsADockerHubImageThroughItsRegistryMirror(@TempDir Path work) throws IOException {
        DockerDaemon docker = null;
        try (Registry2 upstream = Registry2.serve(work.resolve("upstream-data"), work.resolve("upstream-config"));
                Berth berth = proxyOf(upstream.baseUri().toString(), work)) {
            Path daemonJson = Files.writeString(work.resolve("daemon.json"), """
                    {"registry-mirrors": ["http://%s"]}
                    """.formatted(berth.hostAndPort()));
            docker = DockerDaemon.start(work, TIMEOUT, List.of("--config-file", daemonJson.toString()));
            assertThat(docker.ok("info", "--format", "{{json .RegistryConfig.Mirrors}}")).contains("http://" + berth.hostAndPort());
            String pushedRef = upstream.hostAndPort() + "/library/busybox:latest";
            docker.ok("import", TestImages.busyboxRootfs(Files.createDirectories(work.resolve("busybox"))).toString(), pushedRef);
            Matcher pushed = PUSHED.matcher(docker.ok("push", pushedRef));
            assertThat(pushed.find()).as("a digest in the output of docker push").isTrue();
            String digest = pushed.group(1);
            docker.ok("rmi", pushedRef);
            assertThat(docker.ok("images", "--quiet", "--all")).as("images left after rmi").isBlank();

            assertThat(docker.ok("pull", "busybox")).contains("Digest: " + digest);
            assertThat(docker.ok("image", "inspect", "--format", "{{index .RepoDigests 0}}", "busybox").strip()).isEqualTo("busybox@" + digest);
            assertThat(berth.storageDirectory().resolve("docker/registry/v2/repositories/library/busybox/_manifests/tags/latest/current/link"))
                    .as("the mirror cached the pull").hasContent(digest);
            assertThat(docker.ok("run", "--rm", "--network", "none", "busybox", "/bin/busybox", "cat", "/etc/berth-test")).contains("served by berth");
        } finally {
            Daemon.closeAll(docker);
        }
    }

    /**
     * containerd with a {@code hosts.toml} for docker.io whose host is Berth's proxy: {@code ctr images pull --hosts-dir}
     * and the CRI (as the kubelet pulls) get {@code docker.io/library/busybox:latest} from the local upstream.
     */
    @Test
    void containerdPullsADockerHubImageThroughAHostsTomlMirror(@TempDir Path work) throws IOException {
        Containerd containerd = null;
        try (Registry2 upstream = Registry2.serve(work.resolve("upstream-data"), work.resolve("upstream-config"));
                Berth berth = proxyOf(upstream.baseUri().toString(), work)) {
            PeerCli crane = PeerCli.of("CRANE", work.resolve("crane"));
            String upstreamRef = upstream.hostAndPort() + "/library/busybox:latest";
            seed(crane, work, upstreamRef, "--insecure");
            String digest = CraneSeed.digestOf(crane.text("mutate", "--insecure", "--set-platform", "linux/amd64", "-t", upstreamRef, upstreamRef));

            containerd = Containerd.startNode(work.resolve("containerd"));
            Files.writeString(Files.createDirectories(containerd.certsDir().resolve("docker.io")).resolve("hosts.toml"), """
                    server = "https://registry-1.docker.io"

                    [host."http://%s"]
                      capabilities = ["pull", "resolve"]
                    """.formatted(berth.hostAndPort()));

            String ref = "docker.io/library/busybox:latest";
            String pull = containerd.ctrOk("images", "pull", "--hosts-dir", containerd.certsDir().toString(), ref);
            assertThat(pull).containsPattern("unpacking linux/\\S+ " + digest);
            assertThat(containerd.ctrOk("images", "ls").lines().filter(l -> l.startsWith(ref + " ")).toList())
                    .singleElement().asString().contains(" " + digest + " ");

            String config = RegistryHttp.json(crane.bytes("manifest", "--insecure", upstreamRef)).path("config").path("digest").asText();
            assertThat(containerd.crictlOk("pull", "busybox")).contains("Image is up to date for " + config);
            JsonNode status = RegistryHttp.json(containerd.crictlOk("inspecti", "--output", "json", ref)).path("status");
            List<String> repoDigests = new ArrayList<>();
            status.path("repoDigests").forEach(n -> repoDigests.add(n.asText()));
            assertThat(repoDigests).contains("docker.io/library/busybox@" + digest);
            assertThat(berth.storageDirectory().resolve("docker/registry/v2/repositories/library/busybox/_manifests/tags/latest/current/link"))
                    .as("the mirror cached the pull").hasContent(digest);
        } finally {
            Daemon.closeAll(containerd);
        }
    }

    /**
     * docker 20.10 asks for a manifest with one Accept header per media type, in no fixed order (a Go map's). The
     * proxy must pass them all on: given only a schema 1 type, registry:2 answers with a schema 1 conversion signed
     * afresh, whose bytes match no digest, and the pull fails with 503 (as {@code docker pull} through the mirror did
     * whenever Go's order put a schema 1 type first).
     */
    @Test
    void aManifestRequestWithSeveralAcceptHeadersIsAnsweredWithTheImagesOwnManifest(@TempDir Path work) throws IOException {
        try (Registry2 upstream = Registry2.serve(work.resolve("upstream-data"), work.resolve("upstream-config"));
                Berth berth = proxyOf(upstream.baseUri().toString(), work);
                RegistryClient client = RegistryClient.builder(berth.baseUri()).build()) {
            String digest = seed(PeerCli.of("CRANE", work.resolve("crane")), work, upstream.hostAndPort() + "/library/busybox:latest", "--insecure");
            String[] dockerAccepts = {"Accept", "application/vnd.docker.distribution.manifest.v1+prettyjws",
                    "Accept", "application/json",
                    "Accept", RegistryHttp.DOCKER_MANIFEST,
                    "Accept", RegistryHttp.OCI_MANIFEST};
            for (String method : List.of("HEAD", "GET")) {
                var r = client.send(method, "/v2/library/busybox/manifests/latest", null, dockerAccepts);
                assertThat(r.statusCode()).as("%s with docker's Accept headers: %s", method, RegistryClient.text(r)).isEqualTo(200);
                assertThat(r.headers().firstValue("Docker-Content-Digest")).as(method).hasValue(digest);
            }
        }
    }

    /**
     * A volume registry:2's own proxy filled is Berth's cache as it is: with the upstream gone, Berth serves the tag
     * and the digest registry:2 cached. registry:2 stores a blob in the background while it serves it, so the test
     * waits for registry:2's links before it stops it.
     */
    @Test
    void berthServesTheVolumeOfRegistry2sProxyWithTheUpstreamDown(@TempDir Path work) throws IOException {
        Path volume = work.resolve("cache-data");
        String digest;
        String upstreamUrl;
        try (Registry2 upstream = Registry2.serve(work.resolve("upstream-data"), work.resolve("upstream-config"))) {
            upstreamUrl = upstream.baseUri().toString();
            PeerCli crane = PeerCli.of("CRANE", work.resolve("crane"));
            digest = seed(crane, work, upstream.hostAndPort() + "/library/app:1", "--insecure");
            String hostAndPort = "127.0.0.1:" + Registry2.freePort();
            Path config = registry2ProxyConfig(work, volume, hostAndPort, upstreamUrl);
            try (Registry2 registry2Proxy = Registry2.serveConfig(config, hostAndPort)) {
                crane.ok("validate", "--insecure", "--remote", hostAndPort + "/library/app:1");
                byte[] manifest = crane.bytes("manifest", "--insecure", hostAndPort + "/library/app@" + digest);
                awaitLinks(volume.resolve("docker/registry/v2/repositories/library/app/_layers"), blobsOf(RegistryHttp.json(manifest)));
            }
        }
        try (Berth berth = proxyOf(upstreamUrl, work)) {
            assertThat(berth.storageDirectory()).isEqualTo(volume);
            PeerCli crane = PeerCli.of("CRANE", work.resolve("crane-berth"));
            String ref = berth.hostAndPort() + "/library/app";
            assertServed(crane, ref, digest, "registry:2's cached tag, upstream down");
        }
    }

    /** registry:2's own proxy configuration: a cache of {@code upstream} in {@code volume}. */
    private static Path registry2ProxyConfig(Path work, Path volume, String hostAndPort, String upstream) throws IOException {
        return Files.writeString(work.resolve("registry2-proxy.yml"), """
                version: 0.1
                log:
                  level: warn
                storage:
                  filesystem:
                    rootdirectory: %s
                http:
                  addr: %s
                proxy:
                  remoteurl: %s
                """.formatted(volume, hostAndPort, upstream));
    }

    /** {@code ref:1} resolves to {@code digest}, and the image validates by tag and by digest. */
    private static void assertServed(PeerCli crane, String ref, String digest, String what) {
        assertThat(crane.text("digest", "--insecure", ref + ":1").strip()).as(what).isEqualTo(digest);
        crane.ok("validate", "--insecure", "--remote", ref + ":1");
        crane.ok("validate", "--insecure", "--remote", ref + "@" + digest);
    }

    /**
     * And the other way: the volume Berth's proxy filled is served by registry:2's proxy. registry:2 will not start
     * with its upstream down (it pings it at start and panics), so its upstream is a new, empty registry:2: the
     * image can only come from the volume.
     */
    @Test
    void registry2sProxyServesTheVolumeOfBerthsProxyWhenItsUpstreamHasNothing(@TempDir Path work) throws IOException {
        String digest;
        try (Registry2 upstream = Registry2.serve(work.resolve("upstream-data"), work.resolve("upstream-config"));
                Berth berth = proxyOf(upstream.baseUri().toString(), work)) {
            PeerCli crane = PeerCli.of("CRANE", work.resolve("crane"));
            digest = seed(crane, work, upstream.hostAndPort() + "/library/app:1", "--insecure");
            crane.ok("validate", "--insecure", "--remote", berth.hostAndPort() + "/library/app:1");
        }
        String hostAndPort = "127.0.0.1:" + Registry2.freePort();
        try (Registry2 empty = Registry2.serve(work.resolve("empty-data"), work.resolve("empty-config"))) {
            Path config = registry2ProxyConfig(work, work.resolve("cache-data"), hostAndPort, empty.baseUri().toString());
            try (Registry2 registry2Proxy = Registry2.serveConfig(config, hostAndPort)) {
                PeerCli crane = PeerCli.of("CRANE", work.resolve("crane-registry2"));
                String ref = hostAndPort + "/library/app";
                assertServed(crane, ref, digest, "Berth's cached tag, from the volume");
            }
        }
    }

    /** Waits (a minute at most) until each of {@code blobs} is linked under {@code layers}, as registry:2 links them once stored. */
    private static void awaitLinks(Path layers, List<String> blobs) {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (!blobs.stream().allMatch(b -> Files.isRegularFile(layers.resolve(b.replace(':', '/')).resolve("link")))) {
            assertThat(System.nanoTime()).as("registry:2 stored the blobs %s under %s", blobs, layers).isLessThan(deadline);
            Daemon.sleep(Duration.ofMillis(50));
        }
    }

    /** Berth in this JVM, a registry:2 config.yml with {@code proxy.remoteurl} {@code remote}, storage under {@code work}. */
    private static Berth proxyOf(String remote, Path work) throws IOException {
        Path config = Files.writeString(work.resolve("proxy.yml"), """
                version: 0.1
                log:
                  level: info
                storage:
                  filesystem:
                    rootdirectory: %s
                http:
                  addr: 127.0.0.1:%d
                proxy:
                  remoteurl: %s
                """.formatted(work.resolve("cache-data"), Registry2.freePort(), remote));
        Berth berth = Berth.builder().config(ConfigLoader.load(config, Map.of())).build();
        berth.start();
        return berth;
    }

    /** Pushes a two-layer image (busybox's root file system, and random bytes) to {@code ref} with {@code crane}; its digest. */
    private static String seed(PeerCli crane, Path work, String ref, String insecure) {
        List<Path> layers = SecureRegistry.layers(work, 7);
        List<String> args = new ArrayList<>(List.of("append"));
        if (!insecure.isEmpty()) {
            args.add(insecure);
        }
        args.addAll(List.of("-f", layers.get(0).toString(), "-f", layers.get(1).toString(), "-t", ref));
        return CraneSeed.digestOf(crane.text(args.toArray(String[]::new)));
    }

    private static List<String> blobsOf(JsonNode manifest) {
        List<String> out = new ArrayList<>();
        out.add(manifest.path("config").path("digest").asText());
        manifest.path("layers").forEach(l -> out.add(l.path("digest").asText()));
        return out;
    }

    /** Podman as root with storage of its own under {@code store}, and no registries.conf or auth file of the host's. */
    private record Podman(Path store) {
        String ok(String... args) {
            try {
                Files.createDirectories(store.resolve("tmp"));
                Path registries = Files.writeString(store.resolve("registries.conf"), "unqualified-search-registries = []\n");
                Path auth = Files.writeString(store.resolve("auth.json"), "{}");
                List<String> command = new ArrayList<>(List.of(Peers.tool("PODMAN"),
                        "--root", store.resolve("root").toString(),
                        "--runroot", store.resolve("run").toString(),
                        "--tmpdir", store.resolve("tmp").toString(),
                        "--storage-driver", "vfs", "--events-backend", "file", "--cgroup-manager", "cgroupfs"));
                command.addAll(List.of(args));
                return Proc.ok(command, Map.of("CONTAINERS_REGISTRIES_CONF", registries.toString(), "REGISTRY_AUTH_FILE", auth.toString(),
                        "TMPDIR", store.resolve("tmp").toString()), TIMEOUT).output();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }
}
