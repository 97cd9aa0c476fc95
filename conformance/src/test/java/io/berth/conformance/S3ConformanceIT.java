package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.RegistryClient;
import io.berth.testing.S3TestServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official OCI conformance suites ({@link ConformanceSuites}), with every workflow and toggle on as in
 * {@link ConformanceIT}, against Berth storing on S3 (versitygw): blobs streamed through Berth (redirect disabled), and
 * again with registry:2's default, a 307 to a presigned URL of the bucket, which the suites' Go client follows
 * (the main-branch suite then misses one header on the bucket's answer; see its test).
 * Each Berth has its own rootdirectory in one bucket.
 */
class S3ConformanceIT {
    private static final String BUCKET = "registry";

    @RegisterExtension
    static final S3TestServer.PerClass S3 = S3TestServer.perClass(BUCKET);

    @TempDir
    static Path work;

    @Test
    void releaseSuiteV111PassesOnS3WithEveryWorkflowOn(@TempDir Path reports) throws Exception {
        try (S3Berth berth = berth("v111-streamed", S3Berth.options())) {
            assertBlobGetIs(berth, 200);
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
            assertBlobGetIs(berth, 307);
            ConformanceSuites.runV111(ConformanceSuites.v111Env(berth.baseUri().toString(), true, reports), reports,
                    "conformance on S3 with redirects");
        }
    }

    /**
     * The main-branch suite checks the Docker-Content-Digest header on the response a blob GET ends with, which after a
     * 307 is the bucket's: no presigned URL can make S3 send that header (registry:2 on S3 fails the same way). Every
     * other check passes, and each failure is that one, on a blob-get (Berth's 307 itself carries the header).
     */
    @Test
    void mainBranchSuitePassesOnS3WithRedirectsButForTheDigestHeaderOnTheBucketsAnswer(@TempDir Path results) throws Exception {
        try (S3Berth berth = berth("main-redirect", S3Berth.options().redirect(true))) {
            assertBlobGetIs(berth, 307);
            ConformanceSuites.MainRun run = ConformanceSuites.runMain(ConformanceSuites.mainEnv(berth.hostAndPort(), "disabled", results), results);
            System.out.println("conformance main on S3 with redirects: " + run.passed() + " passed, " + run.failed() + " failed");
            List<String> lines = run.result().output().lines().toList();
            List<String> failures = new ArrayList<>();
            for (int i = 1; i < lines.size(); i++) {
                if (lines.get(i).matches("\\s+- .*")) {
                    failures.add(lines.get(i - 1).strip().replaceAll("^.*/", "") + " " + lines.get(i).strip());
                }
            }
            assertThat(failures).as("the suite's failed checks:%n%s", Proc.tail(run.result().output())).hasSize(run.failed())
                    .allMatch(f -> f.equals("blob-get: FAIL - registry did not return a Docker-Content-Digest header"));
            assertThat(ConformanceSuites.summaryCount(run.result().output(), "Disabled")).isZero();
            assertThat(run.passed()).isGreaterThan(850);
        }
    }

    @Test
    void releaseSuiteV111PassesOnS3WithTheCrtClient(@TempDir Path reports) throws Exception {
        try (S3Berth berth = berth("v111-crt", S3Berth.options().client("crt"))) {
            ConformanceSuites.runV111(ConformanceSuites.v111Env(berth.baseUri().toString(), true, reports), reports,
                    "conformance on S3 with the CRT client");
        }
    }

    /**
     * A blob GET is answered with the bytes (200), or with a 307 to a presigned URL of the bucket that serves them
     * without credentials: the mode the suite then runs in.
     */
    private static void assertBlobGetIs(S3Berth berth, int status) {
        byte[] content = ("a blob of " + berth).getBytes(StandardCharsets.UTF_8);
        try (RegistryClient c = berth.client(); HttpClient plain = HttpClient.newHttpClient()) {
            String digest = c.pushBlob("conformance/probe", content);
            HttpResponse<byte[]> get = RegistryClient.expect(c.get("/v2/conformance/probe/blobs/" + digest), status);
            if (status == 200) {
                assertThat(get.body()).isEqualTo(content);
                return;
            }
            String location = get.headers().firstValue("Location").orElseThrow();
            assertThat(location).startsWith(S3.get().endpoint().toString() + "/" + BUCKET + "/");
            HttpResponse<byte[]> presigned = plain.send(HttpRequest.newBuilder(URI.create(location)).build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(presigned.statusCode()).isEqualTo(200);
            assertThat(presigned.body()).isEqualTo(content);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
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
        return S3Berth.start(S3.get(), BUCKET, work.resolve(root), options.rootDirectory(root));
    }
}
