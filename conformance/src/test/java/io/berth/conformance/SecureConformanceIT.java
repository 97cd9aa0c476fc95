package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.HashMap;
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
        // With authentication on, Berth mounts only with `from` (a mount without it would let anyone who knows a
        // digest read the blob), so the suite's "automatic cross-mount disabled" expectation (202) is the one to check.
        env.putAll(ConformanceSuites.v111Env("https://" + registry.host(), false, reports));

        ConformanceSuites.runV111(env, reports, "secure conformance");
    }

    @Test
    void mainBranchSuitePassesOverTlsWithTokenAuth(@TempDir Path results) throws Exception {
        Map<String, String> env = credentials();
        env.putAll(ConformanceSuites.mainEnv(registry.host(), "enabled", results));
        // As above: no anonymous (automatic) mounts once authentication is on.
        env.put("OCI_API_BLOBS_MOUNT_ANONYMOUS", "false");

        ConformanceSuites.MainRun run = ConformanceSuites.runMain(env, results);

        int disabled = ConformanceSuites.summaryCount(run.result().output(), "Disabled");
        System.out.println("secure conformance main: " + run.passed() + " passed, " + run.failed() + " failed, " + disabled
                + " disabled (junit.xml: " + run.junit().passed() + " cases passed, " + run.junit().failed() + " failed)");
        ConformanceSuites.assertMainPassed(run, results);
        assertThat(run.passed()).isGreaterThan(900);
    }
}
