package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.server.Berth;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official OCI distribution-spec conformance suites ({@link ConformanceSuites}), built by
 * scripts/install-peers.sh from pinned commits, run against a fresh Berth with every workflow and toggle on.
 */
class ConformanceIT {
    private static Berth berth;

    @BeforeAll
    static void start() {
        berth = Berth.builder().temporaryStorage().port(0).build();
        berth.start();
    }

    @AfterAll
    static void stop() {
        berth.close();
    }

    @Test
    void releaseSuiteV111PassesWithEveryWorkflowOn(@TempDir Path reports) throws Exception {
        ConformanceSuites.runV111(ConformanceSuites.v111Env(berth.baseUri().toString(), true, reports), reports, "conformance");
    }

    @Test
    void mainBranchSuitePassesWithEveryToggleOn(@TempDir Path results) throws Exception {
        ConformanceSuites.MainRun run = ConformanceSuites.runMain(ConformanceSuites.mainEnv(berth.hostAndPort(), "disabled", results), results);
        System.out.println("conformance main: " + run.passed() + " passed, " + run.failed() + " failed (junit.xml: "
                + run.junit().passed() + " cases passed, " + run.junit().failed() + " failed)");
        ConformanceSuites.assertMainPassed(run, results);
        // Every data set but "sparse" (which Berth refuses by design; see the README) ran.
        assertThat(ConformanceSuites.summaryCount(run.result().output(), "Disabled")).isZero();
        assertThat(run.passed()).isGreaterThan(900);
    }
}
