package io.berth.storage;

import static io.berth.storage.Fixtures.pushImage;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The tag cache must never outlive a tag's move or delete, even when a pull resolves the tag while it
 * changes: right after the write returns, every resolve sees the new state (not within the cache's expiry).
 */
class TagCacheRaceTest extends StorageTestBase {
    private static final Tag LATEST = Tag.of("latest");
    private static final Reference BY_TAG = new Reference.ByTag(LATEST);
    private static final int ROUNDS = 300;

    @Test
    void aTagMovedWhilePullsResolveItIsSeenMovedAtOnce() throws Exception {
        Fixtures.Pushed a = pushImage(storage, REPO, "a");
        Fixtures.Pushed b = pushImage(storage, REPO, "b");
        for (int i = 0; i < ROUNDS; i++) {
            Fixtures.Pushed from = i % 2 == 0 ? a : b;
            Fixtures.Pushed to = i % 2 == 0 ? b : a;
            storage.putManifest(REPO, from.content(), MediaTypes.OCI_MANIFEST, from.digest(), List.of(LATEST));
            whilePulling(() -> storage.putManifest(REPO, to.content(), MediaTypes.OCI_MANIFEST, to.digest(), List.of(LATEST)));

            assertThat(storage.getManifest(REPO, BY_TAG).digest()).as("round %d", i).isEqualTo(to.digest());
        }
    }

    @Test
    void aTagDeletedWhilePullsResolveItIsGoneAtOnce() throws Exception {
        Fixtures.Pushed a = pushImage(storage, REPO, "a");
        for (int i = 0; i < ROUNDS; i++) {
            storage.putManifest(REPO, a.content(), MediaTypes.OCI_MANIFEST, a.digest(), List.of(LATEST));
            whilePulling(() -> storage.deleteManifest(REPO, BY_TAG));

            int round = i;
            assertThatThrownBy(() -> storage.getManifest(REPO, BY_TAG)).as("round %d", round)
                    .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.MANIFEST_UNKNOWN));
        }
    }

    /** Runs {@code change} while two threads resolve the tag as fast as they can. */
    private void whilePulling(Runnable change) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pullers = Executors.newFixedThreadPool(2);
        try {
            Runnable pull = () -> {
                while (!stop.get()) {
                    try {
                        storage.getManifest(REPO, BY_TAG);
                    } catch (StorageException e) {
                        // the tag is between states or gone
                    }
                }
            };
            Future<?> first = pullers.submit(pull);
            Future<?> second = pullers.submit(pull);
            change.run();
            stop.set(true);
            first.get();
            second.get();
        } finally {
            pullers.shutdownNow();
        }
    }
}
