package io.berth.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.storage.RepositoryName;
import io.berth.testing.S3TestServer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bucket's per-repository lock between two processes' worth of S3Locks. */
class S3LocksTest {
    @TempDir
    static Path work;
    static S3TestServer s3;
    static final RepositoryName REPO = RepositoryName.of("team/app");

    @BeforeAll
    static void start() {
        s3 = S3TestServer.start(work, "bucket");
    }

    @AfterAll
    static void stop() {
        s3.close();
    }

    @Test
    void twoReplicasNeverHoldOneRepositorysLockAtOnce() throws Exception {
        String root = S3Fixtures.freshRoot();
        try (ObjectStore one = ObjectStore.open(S3Fixtures.settings(s3, root)); ObjectStore two = ObjectStore.open(S3Fixtures.settings(s3, root))) {
            List<S3Locks> replicas = List.of(new S3Locks(one, Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofMinutes(1)),
                    new S3Locks(two, Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofMinutes(1)));
            AtomicBoolean inside = new AtomicBoolean();
            int[] counter = {0};
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    S3Locks locks = replicas.get(i % 2);
                    done.add(pool.submit(() -> {
                        for (int n = 0; n < 5; n++) {
                            locks.locked(REPO, () -> {
                                assertThat(inside.getAndSet(true)).as("another holder inside").isFalse();
                                int seen = counter[0];
                                Thread.yield();
                                counter[0] = seen + 1;
                                inside.set(false);
                            });
                        }
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
                replicas.forEach(S3Locks::close);
            }
            assertThat(counter[0]).isEqualTo(40);
            assertThat(one.stat(S3Layout.lock(REPO))).as("released").isNull();
        }
    }

    @Test
    void aLockHeldLongerThanItsLeaseIsRenewedNotBroken() throws Exception {
        String root = S3Fixtures.freshRoot();
        try (ObjectStore one = ObjectStore.open(S3Fixtures.settings(s3, root)); ObjectStore two = ObjectStore.open(S3Fixtures.settings(s3, root))) {
            S3Locks holder = new S3Locks(one, Clock.systemUTC(), Duration.ofSeconds(1), Duration.ofSeconds(30));
            S3Locks other = new S3Locks(two, Clock.systemUTC(), Duration.ofSeconds(1), Duration.ofSeconds(30));
            AtomicBoolean inside = new AtomicBoolean();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<?> held = pool.submit(() -> holder.locked(REPO, () -> {
                    inside.set(true);
                    try {
                        Thread.sleep(2500);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    inside.set(false);
                }));
                while (!inside.get() && !held.isDone()) {
                    Thread.onSpinWait();
                }
                other.locked(REPO, () -> assertThat(inside.get()).as("entered while the holder was inside").isFalse());
                held.get();
            } finally {
                pool.shutdownNow();
                holder.close();
                other.close();
            }
        }
    }
}
