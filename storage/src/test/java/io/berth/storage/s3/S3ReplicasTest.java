package io.berth.storage.s3;

import static io.berth.storage.s3.S3Fixtures.immutable;
import static io.berth.storage.s3.S3Fixtures.pushArtifact;
import static io.berth.storage.s3.S3Fixtures.pushImage;
import static io.berth.storage.s3.S3Fixtures.utf8;
import static io.berth.storage.s3.S3ManifestsTest.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.storage.Descriptor;
import io.berth.storage.Digest;
import io.berth.storage.Problem;
import io.berth.storage.Reference;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import io.berth.storage.Tag;
import io.berth.storage.TagGuard;
import io.berth.testing.S3TestServer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two S3Storage instances on one bucket, as two replicas: each sees the other's writes at once, and tag rules hold across them. */
class S3ReplicasTest {
    @TempDir
    static Path work;
    static S3TestServer s3;
    static final RepositoryName REPO = RepositoryName.of("team/app");
    static final Tag V1 = Tag.of("v1");

    String root;
    S3Storage a;
    S3Storage b;

    @BeforeAll
    static void start() {
        s3 = S3TestServer.start(work, "bucket");
    }

    @AfterAll
    static void stop() {
        s3.close();
    }

    @BeforeEach
    void open() {
        root = S3Fixtures.freshRoot();
        a = S3Fixtures.replica(s3, root);
        b = S3Fixtures.replica(s3, root);
    }

    @AfterEach
    void close() {
        a.close();
        b.close();
    }

    @Test
    void tagsPushedMovedAndDeletedOnOneReplicaAreSeenOnTheOtherAtOnce() {
        S3Fixtures.Pushed first = pushImage(a, REPO, "first", V1);
        assertThat(b.getManifest(REPO, new Reference.ByTag(V1)).digest()).isEqualTo(first.digest());
        S3Fixtures.Pushed second = pushImage(a, REPO, "second", V1);
        assertThat(b.getManifest(REPO, new Reference.ByTag(V1)).digest()).as("moved on A").isEqualTo(second.digest());
        assertThat(b.tags(REPO, null, 10)).containsExactly(V1);
        a.deleteManifest(REPO, new Reference.ByTag(V1));
        assertProblem(() -> b.getManifest(REPO, new Reference.ByTag(V1)), Problem.MANIFEST_UNKNOWN);
        assertThat(b.tags(REPO, null, 10)).isEmpty();
        a.deleteManifest(REPO, new Reference.ByDigest(first.digest()));
        assertProblem(() -> b.getManifest(REPO, new Reference.ByDigest(first.digest())), Problem.MANIFEST_UNKNOWN);
    }

    @Test
    void referrersAndGenerationChangesOnOneReplicaAreSeenOnTheOther() {
        S3Fixtures.Pushed image = pushImage(a, REPO, "img", V1);
        assertThat(b.referrers(REPO, image.digest(), null)).isEmpty();
        long before = b.generation(REPO);
        S3Fixtures.Pushed sig = pushArtifact(a, REPO, "sig", image, "application/vnd.dev.cosign", TagGuard.NONE);
        assertThat(b.generation(REPO)).as("a signature pushed on A").isNotEqualTo(before);
        assertThat(b.referrers(REPO, image.digest(), null)).extracting(Descriptor::digest).containsExactly(sig.digest());
        long pushed = b.generation(REPO);
        a.deleteManifest(REPO, new Reference.ByDigest(sig.digest()));
        assertThat(b.generation(REPO)).isNotEqualTo(pushed);
        assertThat(b.referrers(REPO, image.digest(), null)).isEmpty();
    }

    @Test
    void aManifestCollectedOnAnotherReplicaIsStoredAgainWhenPushedAgain() {
        S3Fixtures.Pushed image = pushImage(a, REPO, "img");
        a.deleteManifest(REPO, new Reference.ByDigest(image.digest()));
        // A collection on B deletes the manifest's blob, which A still remembers as stored.
        b.store().delete(S3Layout.blobData(image.digest()));
        b.blobs().forget(image.digest());
        a.putManifest(REPO, image.content(), S3Fixtures.OCI_MANIFEST, null, List.of(V1));
        assertThat(b.getManifest(REPO, new Reference.ByTag(V1)).content()).isEqualTo(image.content());
    }

    @Test
    void concurrentPushesOfOneImmutableTagThroughTwoReplicasLetExactlyOneDigestWin() throws Exception {
        TagGuard guard = immutable("v1");
        int pushes = 16;
        List<byte[]> manifests = new ArrayList<>();
        for (int i = 0; i < pushes; i++) {
            manifests.add(S3Fixtures.imageManifest(i % 2 == 0 ? a : b, REPO, "seed-" + i, null, null));
        }
        ExecutorService pool = Executors.newFixedThreadPool(pushes);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<@Nullable Digest>> results = new ArrayList<>();
            for (int i = 0; i < pushes; i++) {
                S3Storage replica = i % 2 == 0 ? a : b;
                byte[] content = manifests.get(i);
                results.add(pool.submit(() -> {
                    go.await();
                    try {
                        return replica.putManifest(REPO, content, S3Fixtures.OCI_MANIFEST, null, List.of(V1), guard).digest();
                    } catch (StorageException e) {
                        assertThat(e.problem()).as(e.getMessage()).isEqualTo(Problem.DENIED);
                        return null;
                    }
                }));
            }
            go.countDown();
            List<Digest> winners = new ArrayList<>();
            for (Future<@Nullable Digest> f : results) {
                Digest d = f.get();
                if (d != null) {
                    winners.add(d);
                }
            }
            assertThat(winners).hasSize(1);
            assertThat(a.tagTarget(REPO, V1)).isEqualTo(winners.get(0));
            assertThat(b.getManifest(REPO, new Reference.ByTag(V1)).digest()).isEqualTo(winners.get(0));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aTagWriteThatLostItsLeaseCannotOverwriteAnImmutableTag() {
        byte[] mine = S3Fixtures.imageManifest(a, REPO, "mine", null, null);
        S3Fixtures.Pushed theirs = pushImage(b, REPO, "theirs");
        // A guard that lets this push through, then lets another writer (whose lock was not ours) take the tag
        // before the write: as if this replica's lease had been broken while it checked.
        TagGuard racing = new TagGuard() {
            boolean first = true;

            @Override
            public @Nullable String protection(RepositoryName repository, Tag tag) {
                return "tag v1 is immutable";
            }

            @Override
            public @Nullable String refusePush(RepositoryName repository, Tag tag, @Nullable Digest current, Digest next) {
                if (first) {
                    first = false;
                    b.store().put(S3Layout.tagCurrentLink(REPO, V1), utf8(theirs.digest().toString()));
                }
                return TagGuard.super.refusePush(repository, tag, current, next);
            }
        };
        assertProblem(() -> a.putManifest(REPO, mine, S3Fixtures.OCI_MANIFEST, null, List.of(V1), racing), Problem.DENIED);
        assertThat(b.tagTarget(REPO, V1)).isEqualTo(theirs.digest());
    }

    @Test
    void aLockHeldByALiveReplicaMakesTheOtherWaitThenGiveUp() {
        S3Fixtures.Pushed image = pushImage(a, REPO, "img", V1);
        a.store().put(S3Layout.lock(REPO), utf8("owner=other\nexpires=" + Instant.now().plusSeconds(600).toEpochMilli() + "\n"));
        try (S3Storage impatient = S3Fixtures.replica(s3, root, Clock.systemUTC(), Duration.ofMillis(300))) {
            assertProblem(() -> impatient.deleteManifest(REPO, new Reference.ByTag(V1)), Problem.TOOMANYREQUESTS);
        }
        assertThat(b.tagTarget(REPO, V1)).isEqualTo(image.digest());
    }

    @Test
    void anExpiredLeaseIsBrokenAndTheLockReleasedAfterwards() {
        pushImage(a, REPO, "img", V1);
        a.store().put(S3Layout.lock(REPO), utf8("owner=dead\nexpires=" + Instant.now().minusSeconds(1).toEpochMilli() + "\n"));
        b.deleteManifest(REPO, new Reference.ByTag(V1));
        assertThat(a.tagTarget(REPO, V1)).isNull();
        assertThat(a.store().stat(S3Layout.lock(REPO))).as("released").isNull();
    }
}
