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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** registry:2's mark and sweep on the bucket: what is referenced or recent stays, the rest goes. */
class S3GarbageCollectorTest {
    @TempDir
    static Path work;
    static S3TestServer s3;
    static final RepositoryName REPO = RepositoryName.of("team/app");
    static final Tag V1 = Tag.of("v1");

    @BeforeAll
    static void start() {
        s3 = S3TestServer.start(work, "bucket");
    }

    @AfterAll
    static void stop() {
        s3.close();
    }

    /** A replica whose clock is an hour ahead, so that everything in the bucket is older than a grace period of minutes. */
    static S3Storage later(String root) {
        Clock later = Clock.fixed(Instant.now().plus(Duration.ofHours(1)), ZoneOffset.UTC);
        return S3Fixtures.replica(s3, root, later, S3Locks.DEFAULT_MAX_WAIT);
    }

    static boolean stored(S3Storage storage, Digest d) {
        return storage.store().stat(S3Layout.blobData(d)) != null;
    }

    @Test
    void keepsWhatRevisionsReferAndDeletesUnreferencedBlobs() {
        String root = S3Fixtures.freshRoot();
        try (S3Storage storage = S3Fixtures.replica(s3, root); S3Storage gc = later(root)) {
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
        try (S3Storage storage = S3Fixtures.replica(s3, root)) {
            Digest racing = pushBlob(storage, REPO, utf8("an upload whose manifest is still to come"));
            assertThat(storage.collectGarbage(false, false, Duration.ofHours(1)).blobsDeleted()).isZero();
            assertThat(stored(storage, racing)).isTrue();
        }
    }

    @Test
    void deleteUntaggedKeepsWhatTagsReachAndReferrersOfIt() {
        String root = S3Fixtures.freshRoot();
        try (S3Storage storage = S3Fixtures.replica(s3, root); S3Storage gc = later(root)) {
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
}
