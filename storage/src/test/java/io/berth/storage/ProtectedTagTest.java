package io.berth.storage;

import static io.berth.storage.Fixtures.assertProblem;
import static io.berth.storage.Fixtures.bytes;
import static io.berth.storage.Fixtures.pushArtifact;
import static io.berth.storage.Fixtures.pushBlob;
import static io.berth.storage.Fixtures.pushImage;
import static io.berth.storage.Fixtures.pushIndex;
import static io.berth.storage.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A {@link TagGuard} is checked under the repository's lock together with the writes: racing pushes cannot move a
 * protected tag, and nothing it reaches (an index's children, recursively, and their config and layers) can be
 * deleted while it stands. Referrers are not reached.
 */
class ProtectedTagTest extends StorageTestBase {
    private static final int PUSHERS = 8;
    private static final int TAGS = 50;
    private static final int ROUNDS = 50;
    /** Tags starting with "v" are protected. */
    private static final TagGuard GUARD = (repo, tag) -> tag.value().startsWith("v")
            ? "tag \"" + tag + "\" of \"" + repo + "\" is immutable (test rule)"
            : null;

    private final ExecutorService pool = Executors.newFixedThreadPool(PUSHERS);

    @AfterEach
    void stopPool() {
        pool.shutdownNow();
    }

    @Test
    void concurrentPushesOfDifferentManifestsToAProtectedTagLetExactlyOneWin() throws Exception {
        Fixtures.Pushed base = pushImage(storage, REPO, "base");
        List<byte[]> manifests = new ArrayList<>();
        for (int i = 0; i < PUSHERS; i++) {
            ObjectNode m = (ObjectNode) Fixtures.JSON.readTree(base.content());
            m.putObject("annotations").put("pusher", Integer.toString(i));
            manifests.add(bytes(m));
        }
        for (int t = 0; t < TAGS; t++) {
            Tag tag = Tag.of("v1.0." + t);
            List<Callable<Object>> pushes = new ArrayList<>();
            for (byte[] m : manifests) {
                pushes.add(() -> storage.putManifest(REPO, m, MediaTypes.OCI_MANIFEST, null, List.of(tag), GUARD));
            }

            List<Object> outcomes = all(pushes);

            List<StoredManifest> won = outcomes.stream().filter(StoredManifest.class::isInstance).map(StoredManifest.class::cast).toList();
            assertThat(won).as("pushes that won %s", tag).hasSize(1);
            assertThat(outcomes).filteredOn(StorageException.class::isInstance).hasSize(PUSHERS - 1)
                    .allSatisfy(e -> assertThat(((StorageException) e).problem()).isEqualTo(Problem.DENIED))
                    .allSatisfy(e -> assertThat(((StorageException) e).getMessage()).contains(tag.value()).contains("immutable"));
            assertThat(storage.tagTarget(REPO, tag)).as("%s ends at the winner", tag).isEqualTo(won.get(0).digest());
            assertThat(storage.getManifest(REPO, new Reference.ByTag(tag)).digest()).isEqualTo(won.get(0).digest());
        }
    }

    @Test
    void aProtectedTagCannotMoveOrBeDeletedButTakesItsOwnDigestAgain() {
        Fixtures.Pushed first = pushImage(storage, REPO, "first");
        Tag v1 = Tag.of("v1");
        storage.putManifest(REPO, first.content(), MediaTypes.OCI_MANIFEST, null, List.of(v1), GUARD);
        Fixtures.Pushed other = pushImage(storage, REPO, "other");

        storage.putManifest(REPO, first.content(), MediaTypes.OCI_MANIFEST, null, List.of(v1), GUARD);
        assertThatThrownBy(() -> storage.putManifest(REPO, other.content(), MediaTypes.OCI_MANIFEST, null, List.of(v1), GUARD))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.DENIED))
                .hasMessage("tag \"v1\" of \"team/app\" is immutable (test rule); it already points at \"" + first.digest() + "\"");
        assertThatThrownBy(() -> storage.deleteManifest(REPO, new Reference.ByTag(v1), GUARD))
                .hasMessage("tag \"v1\" of \"team/app\" is immutable (test rule) and cannot be deleted");
        assertThatThrownBy(() -> storage.deleteManifest(REPO, first.reference(), GUARD))
                .hasMessage("tag \"v1\" of \"team/app\" is immutable (test rule), and the manifest it points at cannot be deleted");
        assertThat(storage.tagTarget(REPO, v1)).isEqualTo(first.digest());
    }

    @Test
    void aRefusedTagLeavesEveryTagOfThePushAndTheManifestUnwritten() {
        Fixtures.Pushed first = pushImage(storage, REPO, "first", Tag.of("v1"));
        Fixtures.Pushed other = pushImage(storage, REPO, "other");
        storage.deleteManifest(REPO, other.reference());
        List<Tag> tags = List.of(Tag.of("dev"), Tag.of("v1"));

        assertProblem(() -> storage.putManifest(REPO, other.content(), MediaTypes.OCI_MANIFEST, null, tags, GUARD), Problem.DENIED);

        assertThat(storage.tagTarget(REPO, Tag.of("dev"))).isNull();
        assertThat(storage.tagTarget(REPO, Tag.of("v1"))).isEqualTo(first.digest());
        assertProblem(() -> storage.getManifest(REPO, other.reference()), Problem.MANIFEST_UNKNOWN);
    }

    @Test
    void nothingAProtectedIndexReachesCanBeDeleted() {
        Fixtures.Pushed amd = pushImage(storage, REPO, "amd64");
        Fixtures.Pushed arm = pushImage(storage, REPO, "arm64");
        Fixtures.Pushed inner = pushIndex(storage, REPO, List.of(arm));
        byte[] outer = bytes(Fixtures.indexJson(amd.descriptor(),
                Fixtures.descriptor(MediaTypes.OCI_INDEX, inner.digest(), inner.content().length)));
        storage.putManifest(REPO, outer, MediaTypes.OCI_INDEX, null, List.of(Tag.of("v2")), GUARD);

        for (Fixtures.Pushed m : List.of(amd, arm, inner)) {
            assertThatThrownBy(() -> storage.deleteManifest(REPO, m.reference(), GUARD))
                    .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.DENIED))
                    .hasMessage("tag \"v2\" of \"team/app\" is immutable (test rule), and manifest " + m.digest()
                            + ", which it reaches, cannot be deleted");
        }
        for (Digest blob : List.of(amd.blobs().get(0), amd.blobs().get(1), arm.blobs().get(0), arm.blobs().get(1))) {
            assertThatThrownBy(() -> storage.deleteBlob(REPO, blob, GUARD))
                    .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.DENIED))
                    .hasMessage("tag \"v2\" of \"team/app\" is immutable (test rule), and blob " + blob
                            + ", which it reaches, cannot be deleted");
        }
        for (Fixtures.Pushed m : List.of(amd, arm, inner)) {
            assertThat(storage.getManifest(REPO, m.reference()).digest()).isEqualTo(m.digest());
        }
        for (Digest blob : List.of(amd.blobs().get(0), amd.blobs().get(1), arm.blobs().get(0), arm.blobs().get(1))) {
            assertThat(storage.blobSize(REPO, blob)).isPositive();
        }
    }

    @Test
    void whatOnlyMutableTagsReachCanBeDeleted() {
        Fixtures.Pushed child = pushImage(storage, REPO, "child");
        pushIndex(storage, REPO, List.of(child), Tag.of("dev"));
        pushImage(storage, REPO, "protected", Tag.of("v1"));

        storage.deleteBlob(REPO, child.blobs().get(1), GUARD);
        storage.deleteManifest(REPO, child.reference(), GUARD);

        assertProblem(() -> storage.getManifest(REPO, child.reference()), Problem.MANIFEST_UNKNOWN);
    }

    @Test
    void referrersOfAProtectedImageAreNotReachedAndCanBeDeleted() {
        Fixtures.Pushed image = pushImage(storage, REPO, "signed", Tag.of("v1"));
        Fixtures.Pushed signature = pushArtifact(storage, REPO, "signature", image, "application/vnd.example.sig");

        storage.deleteManifest(REPO, signature.reference(), GUARD);
        storage.deleteBlob(REPO, signature.blobs().get(1), GUARD);

        assertThat(storage.referrers(REPO, image.digest(), null)).isEmpty();
    }

    @Test
    void anUnknownManifestOrBlobIsUnknownRatherThanDenied() {
        pushImage(storage, REPO, "protected", Tag.of("v1"));
        Digest absent = Fixtures.sha256(utf8("never pushed"));

        assertProblem(() -> storage.deleteBlob(REPO, absent, GUARD), Problem.BLOB_UNKNOWN);
        assertProblem(() -> storage.deleteManifest(REPO, new Reference.ByDigest(absent), GUARD), Problem.MANIFEST_UNKNOWN);
        assertProblem(() -> storage.deleteManifest(REPO, new Reference.ByTag(Tag.of("v9")), GUARD), Problem.MANIFEST_UNKNOWN);
    }

    @Test
    void aDeleteOfAChildRacingAPushOfItsIndexNeverLeavesAProtectedTagOnAMissingChild() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            Fixtures.Pushed child = pushImage(storage, REPO, "child " + round);
            Tag tag = Tag.of("v4." + round);
            byte[] index = bytes(Fixtures.indexJson(child.descriptor()));

            List<Object> outcomes = all(List.of(
                    () -> storage.putManifest(REPO, index, MediaTypes.OCI_INDEX, null, List.of(tag), GUARD),
                    () -> {
                        storage.deleteManifest(REPO, child.reference(), GUARD);
                        return "deleted";
                    }));

            if (outcomes.get(0) instanceof StoredManifest) {
                assertThat(outcomes.get(1)).as("round %d", round).isInstanceOfSatisfying(StorageException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.DENIED));
                assertThat(storage.getManifest(REPO, child.reference()).digest()).isEqualTo(child.digest());
            } else {
                assertThat(outcomes.get(1)).as("round %d", round).isEqualTo("deleted");
                assertThat(outcomes.get(0)).isInstanceOfSatisfying(StorageException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.MANIFEST_BLOB_UNKNOWN));
                assertThat(storage.tagTarget(REPO, tag)).isNull();
            }
        }
    }

    @Test
    void aDeleteOfALayerRacingAPushOfItsImageNeverLeavesAProtectedTagOnAMissingLayer() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            byte[] config = utf8("{\"round\":" + round + "}");
            byte[] layer = utf8("layer of round " + round);
            Digest c = pushBlob(storage, REPO, config);
            Digest l = pushBlob(storage, REPO, layer);
            byte[] image = bytes(Fixtures.imageJson(Fixtures.descriptor(Fixtures.CONFIG_TYPE, c, config.length),
                    Fixtures.descriptor(Fixtures.LAYER_TYPE, l, layer.length)));
            Tag tag = Tag.of("v5." + round);

            List<Object> outcomes = all(List.of(
                    () -> storage.putManifest(REPO, image, MediaTypes.OCI_MANIFEST, null, List.of(tag), GUARD),
                    () -> {
                        storage.deleteBlob(REPO, l, GUARD);
                        return "deleted";
                    }));

            if (outcomes.get(0) instanceof StoredManifest) {
                assertThat(outcomes.get(1)).as("round %d", round).isInstanceOfSatisfying(StorageException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.DENIED));
                assertThat(storage.blobSize(REPO, l)).isEqualTo(layer.length);
            } else {
                assertThat(outcomes.get(1)).as("round %d", round).isEqualTo("deleted");
                assertThat(outcomes.get(0)).isInstanceOfSatisfying(StorageException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.MANIFEST_BLOB_UNKNOWN));
                assertThat(storage.tagTarget(REPO, tag)).isNull();
            }
        }
    }

    /** Runs every call at once, released together; returns each one's result, or the exception it threw. */
    private List<Object> all(List<Callable<Object>> calls) throws Exception {
        CountDownLatch ready = new CountDownLatch(calls.size());
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Object>> futures = new ArrayList<>();
        for (Callable<Object> call : calls) {
            futures.add(pool.submit(() -> {
                ready.countDown();
                go.await();
                try {
                    return call.call();
                } catch (StorageException e) {
                    return e;
                }
            }));
        }
        ready.await();
        go.countDown();
        List<Object> out = new ArrayList<>();
        for (Future<Object> f : futures) {
            out.add(f.get());
        }
        return out;
    }
}
