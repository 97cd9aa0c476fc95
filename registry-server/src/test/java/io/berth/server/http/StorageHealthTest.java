package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The debug listener's storage health: a hung probe makes the registry unhealthy without holding up the checks. */
class StorageHealthTest {
    private final AtomicLong now = new AtomicLong();

    @Test
    void aProbeThatHangsCountsAsFailedAtEachCheckAndNoSecondOneStarts() throws Exception {
        CountDownLatch volume = new CountDownLatch(1);
        AtomicInteger started = new AtomicInteger();
        DebugServer.StorageHealth health = new DebugServer.StorageHealth(() -> {
            started.incrementAndGet();
            volume.await(); // a hung volume
        }, 2, Duration.ofSeconds(10), now::get);

        health.check(); // returns at once although the probe hangs
        HttpFixture.awaitTrue("the probe runs", () -> started.get() == 1);
        now.addAndGet(Duration.ofSeconds(5).toNanos());
        health.check();
        assertThat(health.problem()).as("within the timeout").isNull();
        now.addAndGet(Duration.ofSeconds(5).toNanos());
        health.check();
        assertThat(health.problem()).as("one failure, threshold two").isNull();
        now.addAndGet(Duration.ofSeconds(10).toNanos());
        health.check();
        assertThat(health.problem()).contains("has not returned after 20000 ms");
        assertThat(started.get()).as("no probe piled up behind the hung one").isEqualTo(1);

        volume.countDown();
        HttpFixture.awaitTrue("the late probe's success clears the failures", () -> health.problem() == null);
        health.check();
        HttpFixture.awaitTrue("the next check probes again", () -> started.get() == 2);
    }

    @Test
    void failingProbesReachTheThresholdAndOneSuccessClearsThem() throws Exception {
        AtomicInteger failFor = new AtomicInteger(2);
        DebugServer.StorageHealth health = new DebugServer.StorageHealth(() -> {
            if (failFor.getAndDecrement() > 0) {
                throw new IOException("read-only file system");
            }
        }, 2, Duration.ofSeconds(10), now::get);

        probeOnce(health);
        assertThat(health.problem()).as("one failure, threshold two").isNull();
        probeOnce(health);
        assertThat(health.problem()).contains("read-only file system");
        probeOnce(health);
        assertThat(health.problem()).isNull();
    }

    private static void probeOnce(DebugServer.StorageHealth health) throws InterruptedException {
        health.check();
        HttpFixture.awaitTrue("the probe has finished", () -> !health.probing());
    }
}
