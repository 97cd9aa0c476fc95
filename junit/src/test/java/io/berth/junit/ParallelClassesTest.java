package io.berth.junit;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/** Two test classes running at the same time, as with JUnit's parallel execution, each get a registry of their own. */
class ParallelClassesTest {
    static final List<TestRegistry> SEEN = new CopyOnWriteArrayList<>();
    /** Both samples wait here after pushing, so each reads its catalog while the other's push is done. */
    static final CyclicBarrier BOTH_PUSHED = new CyclicBarrier(2);

    @Test
    void twoClassesRunningInParallelGetDifferentRegistriesThatSeeOnlyTheirOwnPushes() {
        TestExecutionSummary summary = Samples.run(Map.of(
                        "junit.jupiter.execution.parallel.enabled", "true",
                        "junit.jupiter.execution.parallel.mode.default", "same_thread",
                        "junit.jupiter.execution.parallel.mode.classes.default", "concurrent",
                        "junit.jupiter.execution.parallel.config.strategy", "fixed",
                        "junit.jupiter.execution.parallel.config.fixed.parallelism", "2"),
                SampleA.class, SampleB.class);

        assertThat(Samples.failures(summary)).isEmpty();
        assertThat(summary.getTestsSucceededCount()).isEqualTo(2);
        assertThat(SEEN).hasSize(2);
        assertThat(SEEN.get(0).port()).isNotEqualTo(SEEN.get(1).port());
        assertThat(SEEN.get(0).storageDirectory()).isNotEqualTo(SEEN.get(1).storageDirectory());
        SEEN.forEach(LifecycleTest::assertStopped);
    }

    /** Pushes a blob to {@code repository}, waits for the other sample to push too, then reads the catalog. */
    static void pushWaitAndCheckCatalog(TestRegistry registry, String repository) throws Exception {
        SEEN.add(registry);
        byte[] blob = repository.getBytes();
        String digest = "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(blob));
        HttpClient client = HttpClient.newHttpClient();
        URI upload = registry.url().resolve("/v2/" + repository + "/blobs/uploads/?digest=" + digest);
        HttpResponse<String> pushed = client.send(HttpRequest.newBuilder(upload)
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(blob)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(pushed.statusCode()).isEqualTo(201);

        BOTH_PUSHED.await(2, TimeUnit.MINUTES); // a guard against a run that is not parallel, not a measurement

        assertThat(Http.get(registry, "/v2/_catalog").body()).isEqualTo("{\"repositories\":[\"" + repository + "\"]}");
    }

    @BerthRegistry
    @ExtendWith(Samples.OnlyWhenLaunched.class)
    static class SampleA {
        @Test
        void pushesToItsRegistry(TestRegistry registry) throws Exception {
            pushWaitAndCheckCatalog(registry, "sample/a");
        }
    }

    @BerthRegistry
    @ExtendWith(Samples.OnlyWhenLaunched.class)
    static class SampleB {
        @Test
        void pushesToItsRegistry(TestRegistry registry) throws Exception {
            pushWaitAndCheckCatalog(registry, "sample/b");
        }
    }
}
