package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both official OCI conformance suites against the README's secure example: over TLS (the test CA trusted through
 * SSL_CERT_FILE), logging in as admin at Berth's built-in token issuer.
 */
class SecureConformanceIT {
    @TempDir
    static Path work;

    private static SecureRegistry registry;

    @BeforeAll
    static void start() {
        // The suites retag, delete tagged manifests and push whatever tag names they like (latest among them), which
        // the example's immutable release tags and denied `latest` refuse by design; only for this run, no tag rules.
        // Everything else (TLS, the token issuer, the roles) is the example's.
        registry = SecureRegistry.start(work.resolve("registry"), Map.of(
                "REGISTRY_BERTH_IMMUTABLETAGS", "[]",
                "REGISTRY_BERTH_DENYTAGS", "[]"));
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
    }

    private static Map<String, String> credentials() {
        Map<String, String> env = new HashMap<>();
        env.put("SSL_CERT_FILE", registry.caPem().toString());
        env.put("OCI_USERNAME", "admin");
        env.put("OCI_PASSWORD", registry.password("admin"));
        env.put("NO_PROXY", "127.0.0.1,localhost");
        return env;
    }

    @Test
    void releaseSuiteV111PassesOverTlsWithTokenAuth(@TempDir Path reports) throws Exception {
        Map<String, String> env = credentials();
        env.put("OCI_ROOT_URL", "https://" + registry.host());
        env.put("OCI_NAMESPACE", "conformance/v111");
        env.put("OCI_CROSSMOUNT_NAMESPACE", "conformance/v111-mount");
        env.put("OCI_TEST_PULL", "1");
        env.put("OCI_TEST_PUSH", "1");
        env.put("OCI_TEST_CONTENT_DISCOVERY", "1");
        env.put("OCI_TEST_CONTENT_MANAGEMENT", "1");
        // With authentication on, Berth mounts only with `from` (a mount without it would let anyone who knows a
        // digest read the blob), so the suite's "automatic cross-mount disabled" expectation (202) is the one to check.
        env.put("OCI_AUTOMATIC_CROSSMOUNT", "false");
        env.put("OCI_DELETE_MANIFEST_BEFORE_BLOBS", "true");
        env.put("OCI_HIDE_SKIPPED_WORKFLOWS", "0");
        env.put("OCI_REPORT_DIR", reports.toString());

        Proc.Result r = Proc.run(List.of(Peers.tool("CONFORMANCE_V111")), env, Duration.ofMinutes(5), reports);

        ConformanceIT.Counts c = ConformanceIT.junit(reports.resolve("junit.xml"));
        System.out.println("secure conformance v1.1.1: " + c.passed() + " passed, " + c.failed() + " failed, " + c.skipped() + " skipped");
        assertThat(c.failed()).as("failures in the v1.1.1 suite:%n%s", Proc.tail(r.output())).isZero();
        assertThat(r.exitCode()).as(Proc.tail(r.output())).isZero();
        assertThat(c.passed()).isGreaterThanOrEqualTo(75);
    }

    @Test
    void mainBranchSuitePassesOverTlsWithTokenAuth(@TempDir Path results) throws Exception {
        Map<String, String> env = credentials();
        env.put("OCI_REGISTRY", registry.host());
        env.put("OCI_TLS", "enabled");
        env.put("OCI_REPO1", "conformance/main");
        env.put("OCI_REPO2", "conformance/main-mount");
        env.put("OCI_VERSION", "dev");
        env.put("OCI_DATA_SHA512", "true");
        // As above: no anonymous (automatic) mounts once authentication is on.
        env.put("OCI_API_BLOBS_MOUNT_ANONYMOUS", "false");
        env.put("OCI_RESULTS_DIR", results.toString());

        Proc.Result r = Proc.run(List.of(Peers.tool("CONFORMANCE_MAIN")), env, Duration.ofMinutes(10), results);

        assertThat(results.resolve("junit.xml")).as("the suite wrote no results:%n%s", Proc.tail(r.output())).exists();
        ConformanceIT.Counts c = ConformanceIT.junit(results.resolve("junit.xml"));
        int passed = ConformanceIT.summaryCount(r.output(), "Pass");
        int failed = ConformanceIT.summaryCount(r.output(), "FAIL") + ConformanceIT.summaryCount(r.output(), "Error");
        int disabled = ConformanceIT.summaryCount(r.output(), "Disabled");
        System.out.println("secure conformance main: " + passed + " passed, " + failed + " failed, " + disabled + " disabled (junit.xml: "
                + c.passed() + " cases passed, " + c.failed() + " failed)");
        assertThat(failed).as("failures in the main-branch suite:%n%s", Proc.tail(r.output())).isZero();
        assertThat(c.failed()).isZero();
        assertThat(r.exitCode()).isZero();
        assertThat(r.output()).contains("OCI Conformance Result: Pass");
        assertThat(Files.readString(results.resolve("results.yaml"))).doesNotContain(": FAIL");
        assertThat(passed).isGreaterThan(900);
    }
}
