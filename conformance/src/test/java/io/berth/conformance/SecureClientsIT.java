package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.testing.RegistryClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's secure example ({@code examples/secure/config.yml}: TLS, the built-in token issuer, roles admin, ci
 * and cluster, immutable release tags, no {@code latest}) against docker, podman, skopeo and crane, each trusting the
 * test CA the way an operator would set it up, with credentials kept in private configuration directories.
 * The clients' CLIs are what is tested, so containers are run with {@code docker run}, not Testcontainers (see {@link DockerDaemon}).
 */
class SecureClientsIT {
    private static final Pattern PUSHED = Pattern.compile(": digest: (sha256:[0-9a-f]{64}) size: \\d+");
    private static final Path DOCKER_CERTS = Path.of("/etc/docker/certs.d");

    @TempDir
    static Path work;

    private static SecureRegistry registry;
    private static DockerDaemon docker;
    private static final List<Path> createdForDocker = new ArrayList<>();

    @BeforeAll
    static void start() throws IOException {
        registry = SecureRegistry.start(work.resolve("registry"), Map.of());
        // dockerd reads a registry's CA from /etc/docker/certs.d/<host:port>/ca.crt (no flag moves that directory), as an
        // operator sets it up. dockerd 20.10 always counts 127.0.0.0/8 as an insecure registry, though: it speaks TLS
        // but skips verification there (a wrong CA in this file changes nothing), so docker proves TLS and token auth
        // here; podman, skopeo, crane and containerd prove that the CA is checked.
        for (Path p = DOCKER_CERTS.resolve(registry.host()); p != null && !Files.exists(p); p = p.getParent()) {
            createdForDocker.add(p);
        }
        Files.createDirectories(DOCKER_CERTS.resolve(registry.host()));
        Files.copy(registry.caPem(), DOCKER_CERTS.resolve(registry.host()).resolve("ca.crt"));
        docker = DockerDaemon.start(work.resolve("docker"));
    }

    @AfterAll
    static void stop() {
        Daemon.closeAll(docker, SecureClientsIT::removeTheCaFromDocker, registry);
    }

    /** Deletes the CA from /etc/docker/certs.d, and the directories this class created for it. */
    private static void removeTheCaFromDocker() throws IOException {
        if (registry != null) {
            Daemon.deleteTree(DOCKER_CERTS.resolve(registry.host()));
        }
        for (Path p : createdForDocker) { // innermost first; only directories this class created, once empty
            try {
                Files.deleteIfExists(p);
            } catch (DirectoryNotEmptyException e) {
                break;
            }
        }
    }

    @Test
    void dockerPushesAsCiThenClusterPullsByDigestAndRunsItButMayNotPushOrDelete() throws IOException {
        String app = registry.ref("team/app");
        String base = docker.buildOffline(work, app + ":v1");

        assertThat(dockerLogin("ci", registry.password("ci")).requireSuccess().text()).contains("Login Succeeded");
        String push = docker.ok("push", app + ":v1");
        Matcher pushed = PUSHED.matcher(push);
        assertThat(pushed.find()).as("a digest in the output of docker push:%n%s", push).isTrue();
        String digest = pushed.group(1);
        docker.ok("logout", registry.host());

        dockerLogin("cluster", registry.password("cluster")).requireSuccess();
        docker.ok("rmi", app + ":v1", base);
        assertThat(docker.ok("pull", app + "@" + digest)).contains("Digest: " + digest);
        String run = docker.ok("run", "--rm", "--network", "none", app + "@" + digest, "/bin/busybox", "cat", "/etc/berth-test");
        assertThat(run).contains("served by berth");

        docker.ok("tag", app + "@" + digest, app + ":from-cluster");
        Proc.Result refused = docker.run(Duration.ofMinutes(2), "push", app + ":from-cluster");
        assertThat(refused.exitCode()).as("exit code of docker push as cluster:%n%s", refused.output()).isNotZero();
        assertThat(refused.output().toLowerCase(Locale.ROOT)).containsAnyOf("denied", "unauthorized");

        // No client deletes with docker; over HTTP, cluster's token (it asked for delete) does not allow it.
        HttpResponse<byte[]> delete = registry.request("DELETE", "/v2/team/app/manifests/" + digest,
                registry.token("cluster", "repository:team/app:delete"));
        assertThat(delete.statusCode()).as("DELETE as cluster: %s", RegistryClient.text(delete)).isEqualTo(401);
        assertThat(delete.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(h -> assertThat(h).contains("error=\"insufficient_scope\""));
        assertThat(registry.request("GET", "/v2/team/app/manifests/" + digest, registry.token("cluster", "repository:team/app:pull"))
                .statusCode()).as("the manifest after the refused delete").isEqualTo(200);
    }

    @Test
    void dockerLoginWithAWrongPasswordFails() {
        PeerCli.Out login = dockerLogin("ci", SecureRegistry.WRONG_PASSWORD);
        assertThat(login.exitCode()).as("exit code of docker login:%n%s", login.stderr()).isNotZero();
        assertThat(login.stderr().toLowerCase(Locale.ROOT)).contains("unauthorized");
    }

    @Test
    void podmanTrustsTheCaInItsCertDirPushesAsCiAndPullsAsClusterButMayNotPush(@TempDir Path store) throws IOException {
        Path registries = Files.writeString(store.resolve("registries.conf"), "unqualified-search-registries = []\n");
        Path authFile = store.resolve("auth.json");
        PeerCli podman = PeerCli.of("PODMAN", store.resolve("home"), Map.of("CONTAINERS_REGISTRIES_CONF", registries.toString()))
                .withArgs("--root", store.resolve("root").toString(), "--runroot", store.resolve("run").toString(),
                        "--tmpdir", store.resolve("tmp").toString(), "--storage-driver", "vfs", "--events-backend", "file",
                        "--cgroup-manager", "cgroupfs");
        String certDir = registry.certDir().toString();
        String image = registry.ref("team/podman");
        podman.ok("import", TestImages.busyboxRootfs(Files.createDirectories(store.resolve("busybox"))).toString(), image + ":v1");

        podman.runWithInput(registry.password("ci"), "login", "--cert-dir", certDir, "--authfile", authFile.toString(),
                "-u", "ci", "--password-stdin", registry.host()).requireSuccess();
        Path digestFile = store.resolve("pushed.digest");
        podman.ok("push", "--cert-dir", certDir, "--authfile", authFile.toString(), "--digestfile", digestFile.toString(), image + ":v1");
        String digest = Files.readString(digestFile).strip();
        assertThat(digest).matches("sha256:[0-9a-f]{64}");

        podman.runWithInput(registry.password("cluster"), "login", "--cert-dir", certDir, "--authfile", authFile.toString(),
                "-u", "cluster", "--password-stdin", registry.host()).requireSuccess();
        podman.ok("rmi", image + ":v1");
        podman.ok("pull", "--cert-dir", certDir, "--authfile", authFile.toString(), image + "@" + digest);
        assertThat(podman.text("image", "inspect", "--format", "{{.Digest}}", image + "@" + digest)).isEqualTo(digest);

        podman.ok("tag", image + "@" + digest, image + ":from-cluster");
        String refused = podman.fails("push", "--cert-dir", certDir, "--authfile", authFile.toString(), image + ":from-cluster");
        assertThat(refused.toLowerCase(Locale.ROOT)).containsAnyOf("denied", "unauthorized");
    }

    @Test
    void skopeoCopiesInWithCiCredentialsButNotWithClusterCredentials(@TempDir Path home) throws IOException {
        String digest = registry.seed(home, "team/skopeo-seed:v1", 300);
        Path policy = Files.writeString(home.resolve("policy.json"), "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}");
        // Trust comes from --*-cert-dir alone (no SSL_CERT_FILE); credentials from --*-creds (an empty auth file).
        PeerCli skopeo = PeerCli.of("SKOPEO", home, Map.of("REGISTRY_AUTH_FILE", Files.writeString(home.resolve("auth.json"), "{}").toString()))
                .withArgs("--policy", policy.toString(), "--registries.d", Files.createDirectories(home.resolve("registries.d")).toString());
        String certs = registry.certDir().toString();
        String cluster = "cluster:" + registry.password("cluster");
        String source = "docker://" + registry.ref("team/skopeo-seed:v1");

        skopeo.ok("copy", "--src-cert-dir", certs, "--src-creds", cluster,
                "--dest-cert-dir", certs, "--dest-creds", "ci:" + registry.password("ci"), source, "docker://" + registry.ref("team/skopeo:v1"));

        byte[] seeded = skopeo.ok("inspect", "--raw", "--cert-dir", certs, "--creds", cluster, source).stdout();
        assertThat(RegistryClient.sha256(seeded)).isEqualTo(digest);
        JsonNode copied = RegistryHttp.json(skopeo.ok("inspect", "--raw", "--cert-dir", certs, "--creds", cluster,
                "docker://" + registry.ref("team/skopeo:v1")).stdout());
        // The same image (config); its layers may be other compressions of the same content, because containers/image
        // (as root, with a blob-info cache shared by every root process) reuses what docker and podman pushed here.
        assertThat(copied.path("config").path("digest").asText()).isEqualTo(RegistryHttp.json(seeded).path("config").path("digest").asText());
        assertThat(copied.path("layers")).hasSize(2);
        // An empty --cert-dir (without one, containers/image would also read /etc/docker/certs.d, where this class put the CA).
        String emptyCertDir = Files.createDirectories(home.resolve("no-certs")).toString();
        assertThat(skopeo.fails("inspect", "--cert-dir", emptyCertDir, "--creds", cluster, "docker://" + registry.ref("team/skopeo:v1")))
                .as("without the CA").contains("x509: certificate signed by unknown authority");
        String refused = skopeo.fails("copy", "--src-cert-dir", certs, "--src-creds", cluster,
                "--dest-cert-dir", certs, "--dest-creds", cluster, source, "docker://" + registry.ref("team/skopeo:v2"));
        assertThat(refused.toLowerCase(Locale.ROOT)).containsAnyOf("denied", "unauthorized");
    }

    @Test
    void cranePushesAsCiClusterReadsButMayNotPushOrDeleteAndAdminDeletes(@TempDir Path home) throws IOException {
        PeerCli ci = registry.crane(home.resolve("ci"), "ci");
        List<Path> layers = SecureRegistry.layers(home, 400);
        // A build tag, neither v* nor x.y.z: immutable tags would protect the manifest from deletion.
        String ref = registry.ref("team/crane:build-1");
        String digest = CraneSeed.digestOf(ci.text("append", "-f", layers.get(0).toString(), "-f", layers.get(1).toString(), "-t", ref));
        String byDigest = registry.ref("team/crane@" + digest);

        PeerCli cluster = registry.crane(home.resolve("cluster"), "cluster");
        assertThat(cluster.text("digest", ref)).isEqualTo(digest);
        Path tar = home.resolve("pulled.tar");
        cluster.ok("pull", byDigest, tar.toString());
        assertThat(Files.size(tar)).isPositive();
        assertThat(cluster.fails("push", tar.toString(), registry.ref("team/crane:build-2")).toLowerCase(Locale.ROOT))
                .containsAnyOf("denied", "unauthorized");
        assertThat(cluster.fails("delete", byDigest).toLowerCase(Locale.ROOT)).containsAnyOf("denied", "unauthorized");
        assertThat(cluster.text("digest", byDigest)).as("the manifest after the refused delete").isEqualTo(digest);

        registry.crane(home.resolve("admin"), "admin").ok("delete", byDigest);
        assertThat(cluster.fails("manifest", byDigest)).contains("MANIFEST_UNKNOWN");
    }

    @Test
    void pushingAnotherImageToAnExistingReleaseTagIsDeniedButRepushingTheSameImageIsAllowed(@TempDir Path home) throws IOException {
        PeerCli ci = registry.crane(home, "ci");
        String v1 = registry.ref("team/tags:v1");
        List<Path> first = SecureRegistry.layers(home, 500);
        String digest = CraneSeed.digestOf(ci.text("append", "-f", first.get(0).toString(), "-f", first.get(1).toString(), "-t", v1));

        List<Path> second = SecureRegistry.layers(home, 501);
        String refused = ci.fails("append", "-f", second.get(0).toString(), "-f", second.get(1).toString(), "-t", v1);
        assertThat(refused).contains("DENIED", "is immutable");
        assertThat(ci.text("digest", v1)).isEqualTo(digest);

        ci.ok("tag", registry.ref("team/tags@" + digest), "v1");
        assertThat(ci.text("digest", v1)).isEqualTo(digest);
    }

    @Test
    void pushingLatestIsDenied(@TempDir Path home) throws IOException {
        PeerCli ci = registry.crane(home, "ci");
        List<Path> layers = SecureRegistry.layers(home, 600);
        String build = registry.ref("team/latest:build-1");
        ci.ok("append", "-f", layers.get(0).toString(), "-f", layers.get(1).toString(), "-t", build);

        assertThat(ci.fails("tag", build, "latest")).contains("DENIED", "may not be pushed (berth.denyTags[0])");
        assertThat(ci.fails("append", "-f", layers.get(0).toString(), "-t", registry.ref("team/latest:latest"))).contains("may not be pushed");
        assertThat(ci.text("ls", registry.ref("team/latest")).lines()).containsExactly("build-1");
    }

    @Test
    void anonymousPingIsChallengedToTheBuiltInTokenRealm() {
        HttpResponse<byte[]> ping = registry.request("GET", "/v2/", null);

        assertThat(ping.statusCode()).isEqualTo(401);
        assertThat(ping.headers().firstValue("WWW-Authenticate"))
                .hasValue("Bearer realm=\"https://" + registry.host() + "/auth/token\",service=\"" + registry.service() + "\"");
    }

    @Test
    void tokenEndpointRefusesAWrongPassword() {
        HttpResponse<byte[]> r = registry.tokenRequest("cluster", SecureRegistry.WRONG_PASSWORD, "repository:team/app:pull");

        assertThat(r.statusCode()).as(RegistryClient.text(r)).isEqualTo(401);
        assertThat(RegistryClient.text(r)).doesNotContain("\"token\"");
    }

    @Test
    void clusterAskingForPullAndPushIsGrantedPullOnly() {
        String token = registry.token("cluster", "repository:team/app:pull,push");

        JsonNode claims = SecureRegistry.claims(token);
        assertThat(claims.path("sub").asText()).isEqualTo("cluster");
        assertThat(claims.path("iss").asText()).isEqualTo("berth");
        assertThat(claims.path("aud").toString()).contains(registry.service());
        JsonNode access = claims.path("access");
        assertThat(access).as("access claim %s", access).hasSize(1);
        assertThat(access.get(0).path("type").asText()).isEqualTo("repository");
        assertThat(access.get(0).path("name").asText()).isEqualTo("team/app");
        assertThat(access.get(0).path("actions").toString()).isEqualTo("[\"pull\"]");
    }

    @Test
    void plainHttpToTheTlsPortIsAnswered400() throws Exception {
        HttpResponse<byte[]> r;
        try (RegistryClient plain = RegistryClient.of(URI.create("http://" + registry.host()))) {
            r = plain.get("/v2/");
        }

        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(RegistryClient.text(r)).contains("HTTP request to an HTTPS server");
    }

    /** {@code docker login --password-stdin} against the private dockerd, with the CLI configuration DockerDaemon uses. */
    private static PeerCli.Out dockerLogin(String account, String password) {
        return docker.cli().runWithInput(password, "login", "-u", account, "--password-stdin", registry.host());
    }
}
