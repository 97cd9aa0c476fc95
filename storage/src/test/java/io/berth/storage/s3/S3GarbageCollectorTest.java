package io.berth.storage.s3;

import static io.berth.storage.s3.S3Fixtures.pushArtifact;
import static io.berth.storage.s3.S3Fixtures.pushBlob;
import static io.berth.storage.s3.S3Fixtures.pushImage;
import static io.berth.storage.s3.S3Fixtures.pushIndex;
import static io.berth.storage.s3.S3Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.storage.Digest;
import io.berth.storage.GarbageCollector;
import io.berth.storage.Reference;
import io.berth.storage.RepositoryName;
import io.berth.storage.Tag;
import io.berth.storage.TagGuard;
import io.berth.testing.S3TestServer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** registry:2's mark and sweep on the bucket: what is referenced or recent stays, the rest goes. */
class S3GarbageCollectorTest {
    @RegisterExtension
    static final S3TestServer.PerClass S3 = S3TestServer.perClass("bucket");
    static final RepositoryName REPO = RepositoryName.of("team/app");
    static final Tag V1 = Tag.of("v1");

    /** A replica whose clock is an hour ahead, so that everything in the bucket is older than a grace period of minutes. */
    static S3Storage later(String root) {
        Clock later = Clock.fixed(Instant.now().plus(Duration.ofHours(1)), ZoneOffset.UTC);
        return S3Fixtures.replica(S3.get(), root, later, S3Locks.DEFAULT_MAX_WAIT);
    }

    static boolean stored(S3Storage storage, Digest d) {
        return storage.store().stat(S3Layout.blobData(d)) != null;
    }

    @Test
    void keepsWhatRevisionsReferAndDeletesUnreferencedBlobs() {
        String root = S3Fixtures.freshRoot();
        try (S3Storage storage = S3Fixtures.replica(S3.get(), root); S3Storage gc = later(root)) {
            S3Fixtures.Pushed tagged = pushImage(storage, REPO, "tagged", V1);
            S3Fixtures.Pushed untagged = pushImage(storage, REPO, "untagged");
            Digest orphan = pushBlob(storage, REPO, utf8("orphan layer"));
            Digest unlinked = pushBlob(storage, RepositoryName.of("other"), utf8("unlinked layer"));
            storage.deleteBlob(RepositoryName.of("other"), unlinked);

            GarbageCollector.Result dry = gc.collectGarbage(true, false, Duration.ofMinutes(5));
            assertThat(dry.blobsDeleted()).isEqualTo(2);
            assertThat(stored(storage, orphan)).as("a dry run deletes nothing").isTrue();

            GarbageCollector.Result result = gc.collectGarbage(false, false, Duration.ofMinutes(5));
            assertThat(result).isEqualTo(new GarbageCollector.Result(0, 2, "orphan layer".length() + "unlinked layer".length()));
            assertThat(stored(storage, orphan)).isFalse();
            assertThat(stored(storage, unlinked)).isFalse();
            for (S3Fixtures.Pushed p : List.of(tagged, untagged)) {
                assertThat(stored(storage, p.digest())).isTrue();
                p.blobs().forEach(b -> assertThat(stored(storage, b)).isTrue());
            }
            assertThat(storage.getManifest(REPO, new Reference.ByTag(V1)).digest()).isEqualTo(tagged.digest());
        }
    }

    @Test
    void blobsYoungerThanTheGracePeriodAreKept() {
        String root = S3Fixtures.freshRoot();
        try (S3Storage storage = S3Fixtures.replica(S3.get(), root)) {
            Digest racing = pushBlob(storage, REPO, utf8("an upload whose manifest is still to come"));
            assertThat(storage.collectGarbage(false, false, Duration.ofHours(1)).blobsDeleted()).isZero();
            assertThat(stored(storage, racing)).isTrue();
        }
    }

    @Test
    void deleteUntaggedKeepsWhatTagsReachAndReferrersOfIt() {
        String root = S3Fixtures.freshRoot();
        try (S3Storage storage = S3Fixtures.replica(S3.get(), root); S3Storage gc = later(root)) {
            S3Fixtures.Pushed amd = pushImage(storage, REPO, "amd64");
            S3Fixtures.Pushed arm = pushImage(storage, REPO, "arm64");
            S3Fixtures.Pushed index = pushIndex(storage, REPO, List.of(amd, arm), V1);
            S3Fixtures.Pushed sig = pushArtifact(storage, REPO, "sig", index, "application/vnd.dev.cosign", TagGuard.NONE);
            S3Fixtures.Pushed old = pushImage(storage, REPO, "old");

            GarbageCollector.Result result = gc.collectGarbage(false, true, Duration.ofMinutes(5));
            assertThat(result.manifestsDeleted()).isEqualTo(1);
            assertThat(result.blobsDeleted()).isEqualTo(3); // the old manifest, its config and its layer
            assertThat(storage.store().stat(S3Layout.revisionLink(REPO, old.digest()))).isNull();
            assertThat(stored(storage, old.digest())).isFalse();
            old.blobs().forEach(b -> assertThat(stored(storage, b)).isFalse());
            for (S3Fixtures.Pushed p : List.of(amd, arm, index, sig)) {
                assertThat(storage.getManifest(REPO, new Reference.ByDigest(p.digest())).digest()).isEqualTo(p.digest());
                p.blobs().forEach(b -> assertThat(stored(storage, b)).isTrue());
            }
        }
    }

    /** Buries a blob as a collection does before its second look: copied to its tombstone, its data deleted. */
    static void bury(S3Storage storage, Digest d) {
        long size = storage.store().stat(S3Layout.blobData(d)).size();
        storage.store().copy(S3Layout.blobData(d), S3GarbageCollector.tombstone(d), size);
        storage.store().delete(S3Layout.blobData(d));
    }

    @Test
    void aPushThatNeedsABlobACollectionIsDeletingBringsItBack() {
        String root = S3Fixtures.freshRoot();
        try (S3Storage storage = S3Fixtures.replica(S3.get(), root)) {
            byte[] content = S3Fixtures.imageManifest(storage, REPO, "racing", null, null);
            String json = new String(content, java.nio.charset.StandardCharsets.UTF_8);
            Digest layer = Digest.parse(json.substring(json.lastIndexOf("sha256:"), json.lastIndexOf("sha256:") + 71));
            bury(storage, layer);
            storage.putManifest(REPO, content, S3Fixtures.OCI_MANIFEST, null, List.of(V1));
            assertThat(stored(storage, layer)).isTrue();
            assertThat(storage.store().stat(S3GarbageCollector.tombstone(layer))).isNull();
        }
    }

    @Test
    void tombstonesACollectionLeftAreBroughtBackWhenReferencedAndDeletedOtherwise() {
        String root = S3Fixtures.freshRoot();
        try (S3Storage storage = S3Fixtures.replica(S3.get(), root); S3Storage gc = later(root)) {
            S3Fixtures.Pushed image = pushImage(storage, REPO, "kept", V1);
            Digest orphan = pushBlob(storage, REPO, utf8("orphan"));
            bury(storage, image.blobs().get(1));
            bury(storage, orphan);
            GarbageCollector.Result result = gc.collectGarbage(false, false, Duration.ofMinutes(5));
            assertThat(result.blobsDeleted()).isEqualTo(1);
            assertThat(stored(storage, image.blobs().get(1))).isTrue();
            assertThat(stored(storage, orphan)).isFalse();
            List<String> left = new java.util.ArrayList<>();
            storage.store().list(S3Layout.BLOBS, o -> left.add(o.key()));
            assertThat(left).noneMatch(k -> k.endsWith(S3GarbageCollector.TOMBSTONE));
        }
    }

    @Test
    void oneReplicaCollectsAtATimeAndAKilledCollectionsLeaseIsBrokenWhenItExpires() {
        String root = S3Fixtures.freshRoot();
        try (S3Storage storage = S3Fixtures.replica(S3.get(), root); S3Storage gc = later(root)) {
            Digest orphan = pushBlob(storage, REPO, utf8("orphan"));
            long future = Instant.now().plus(Duration.ofHours(3)).toEpochMilli();
            storage.store().put(S3GarbageCollector.RUNNING_KEY, utf8("expires=" + future + "\n"));
            assertThat(gc.collectGarbage(false, false, Duration.ofMinutes(5))).isEqualTo(new GarbageCollector.Result(0, 0, 0));
            assertThat(stored(storage, orphan)).as("another replica is collecting").isTrue();

            long past = Instant.now().minus(Duration.ofMinutes(1)).toEpochMilli();
            storage.store().put(S3GarbageCollector.RUNNING_KEY, utf8("expires=" + past + "\n"));
            assertThat(gc.collectGarbage(false, false, Duration.ofMinutes(5)).blobsDeleted()).isEqualTo(1);
            assertThat(stored(storage, orphan)).isFalse();
            assertThat(storage.store().stat(S3GarbageCollector.RUNNING_KEY)).as("released").isNull();
        }
    }
}
