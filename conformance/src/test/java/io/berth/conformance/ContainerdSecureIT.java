package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.TestPki;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A private containerd pulling through the CRI (as the kubelet does) from the README's secure example: TLS with a
 * CA named in {@code certs.d/<host>/hosts.toml}, and the cluster account's credentials passed with the pull (as an
 * imagePullSecret is), which containerd trades for a token at Berth's built-in issuer.
 */
class ContainerdSecureIT {
    @TempDir
    static Path work;

    private static SecureRegistry registry;
    private static Containerd containerd;

    @BeforeAll
    static void start() {
        registry = SecureRegistry.start(work.resolve("registry"), Map.of());
        containerd = Containerd.start(work.resolve("containerd"), registry.host());
    }

    @AfterAll
    static void stop() {
        Daemon.closeAll(containerd, registry);
    }

    /** containerd reads hosts.toml at every pull, so each test can point it at the CA it needs. */
    @BeforeEach
    void trustTheRegistryCa() throws IOException {
        writeHostsToml(registry.caPem());
    }

    @Test
    void criPullsByDigestOverTlsWithClusterCredentials() {
        String digest = registry.seed(work.resolve("seed-ok"), "team/cri:v1", 700);
        String ref = registry.ref("team/cri@" + digest);

        String pull = containerd.crictlOk("pull", "--creds", "cluster:" + registry.password("cluster"), ref);

        String config = RegistryHttp.json(registry.request("GET", "/v2/team/cri/manifests/" + digest,
                registry.token("cluster", "repository:team/cri:pull")).body()).path("config").path("digest").asText();
        assertThat(pull).contains("Image is up to date for " + config);
        JsonNode status = RegistryHttp.json(containerd.crictlOk("inspecti", "--output", "json", ref)).path("status");
        assertThat(status.path("id").asText()).isEqualTo(config);
        assertThat(status.path("repoDigests").toString()).contains(ref);
    }

    @Test
    void criPullWithAWrongPasswordFails() {
        String digest = registry.seed(work.resolve("seed-wrong-password"), "team/cri-wrong:v1", 701);

        Proc.Result pull = containerd.crictl(Duration.ofMinutes(2), "pull", "--creds", "cluster:" + SecureRegistry.WRONG_PASSWORD,
                registry.ref("team/cri-wrong@" + digest));

        assertThat(pull.exitCode()).as("exit code of crictl pull:%n%s", pull.output()).isNotZero();
        assertThat(pull.output()).contains("401 Unauthorized");
    }

    @Test
    void criPullFailsWhenHostsTomlNamesAnotherCa() throws IOException {
        String digest = registry.seed(work.resolve("seed-wrong-ca"), "team/cri-ca:v1", 702);
        writeHostsToml(TestPki.Ca.root("Some other CA").writeCertificate(work.resolve("other-ca.pem")));

        Proc.Result pull = containerd.crictl(Duration.ofMinutes(2), "pull", "--creds", "cluster:" + registry.password("cluster"),
                registry.ref("team/cri-ca@" + digest));

        assertThat(pull.exitCode()).as("exit code of crictl pull:%n%s", pull.output()).isNotZero();
        assertThat(pull.output()).contains("x509: certificate signed by unknown authority");
    }

    /** The registry over HTTPS, trusting {@code ca} (see {@link Containerd#writeHttpsHost}). */
    private static void writeHostsToml(Path ca) throws IOException {
        containerd.writeHttpsHost(registry.host(), ca);
    }
}
