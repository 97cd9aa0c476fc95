package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.S3TestServer;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official OCI conformance suites ({@link ConformanceSuites}), with every workflow and toggle on as in
 * {@link ConformanceIT}, against Berth storing on S3 (versitygw): blobs streamed through Berth (redirect disabled), and
 * again with registry:2's default, a 307 to a presigned URL of the bucket, which the suites' Go client follows.
 * Each Berth has its own rootdirectory in one bucket.
 */
class S3ConformanceIT {
    private static final String BUCKET = "registry";

    @TempDir
    static Path work;

    private static S3TestServer s3;

    @BeforeAll
    static void startS3() {
        s3 = S3TestServer.start(work, BUCKET);
    }

    @AfterAll
    static void stopS3() {
        Daemon.closeAll(s3);
    }

    @Test
    void releaseSuiteV111PassesOnS3WithEveryWorkflowOn(@TempDir Path reports) throws Exception {
        try (S3Berth berth = berth("v111-streamed", S3Berth.options())) {
            ConformanceSuites.runV111(ConformanceSuites.v111Env(berth.baseUri().toString(), true, reports), reports, "conformance on S3");
        }
    }

    @Test
    void mainBranchSuitePassesOnS3WithEveryToggleOn(@TempDir Path results) throws Exception {
        try (S3Berth berth = berth("main-streamed", S3Berth.options())) {
            runMain(berth, results, "conformance main on S3");
        }
    }

    @Test
    void releaseSuiteV111PassesOnS3WithRedirectsToPresignedUrls(@TempDir Path reports) throws Exception {
        try (S3Berth berth = berth("v111-redirect", S3Berth.options().redirect(true))) {
            ConformanceSuites.runV111(ConformanceSuites.v111Env(berth.baseUri().toString(), true, reports), reports,
                    "conformance on S3 with redirects");
        }
    }

    @Test
    void mainBranchSuitePassesOnS3WithRedirectsToPresignedUrls(@TempDir Path results) throws Exception {
        try (S3Berth berth = berth("main-redirect", S3Berth.options().redirect(true))) {
            runMain(berth, results, "conformance main on S3 with redirects");
        }
    }

    @Test
    void releaseSuiteV111PassesOnS3WithTheCrtClient(@TempDir Path reports) throws Exception {
        try (S3Berth berth = berth("v111-crt", S3Berth.options().client("crt"))) {
            ConformanceSuites.runV111(ConformanceSuites.v111Env(berth.baseUri().toString(), true, reports), reports,
                    "conformance on S3 with the CRT client");
        }
    }

    private static void runMain(S3Berth berth, Path results, String label) throws Exception {
        ConformanceSuites.MainRun run = ConformanceSuites.runMain(ConformanceSuites.mainEnv(berth.hostAndPort(), "disabled", results), results);
        System.out.println(label + ": " + run.passed() + " passed, " + run.failed() + " failed (junit.xml: "
                + run.junit().passed() + " cases passed, " + run.junit().failed() + " failed)");
        ConformanceSuites.assertMainPassed(run, results);
        // Every data set but "sparse" (which Berth refuses by design; see the README) ran.
        assertThat(ConformanceSuites.summaryCount(run.result().output(), "Disabled")).isZero();
        assertThat(run.passed()).isGreaterThan(900);
    }

    /** A Berth of its own on the bucket, under rootdirectory {@code root}. */
    private static S3Berth berth(String root, S3Berth.Options options) {
        return S3Berth.start(s3, BUCKET, work.resolve(root), options.rootDirectory(root));
    }
}
