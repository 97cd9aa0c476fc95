package io.berth.storage;

import static io.berth.storage.Fixtures.pushBlob;
import static io.berth.storage.Fixtures.pushImage;
import static io.berth.storage.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeleteAndMountTest extends StorageTestBase {

    @Test
    void deleteByDigestRemovesEveryTagPointingAtIt() {
        Fixtures.Pushed doomed = pushImage(storage, REPO, "doomed", Tag.of("a"), Tag.of("b"));
        Fixtures.Pushed kept = pushImage(storage, REPO, "kept", Tag.of("c"));

        storage.deleteManifest(REPO, doomed.reference());

        assertThat(storage.tags(REPO, null, 10)).containsExactly(Tag.of("c"));
        Fixtures.assertProblem(() -> storage.getManifest(REPO, doomed.reference()), Problem.MANIFEST_UNKNOWN);
        Fixtures.assertProblem(() -> storage.getManifest(REPO, Reference.parse("a")), Problem.MANIFEST_UNKNOWN);
        assertThat(storage.getManifest(REPO, Reference.parse("c")).digest()).isEqualTo(kept.digest());
        Path manifests = Fixtures.repoDir(root, REPO).resolve("_manifests");
        assertThat(manifests.resolve("revisions/sha256/" + doomed.digest().hex())).doesNotExist();
        assertThat(manifests.resolve("tags/a")).doesNotExist();
        assertThat(manifests.resolve("tags/b")).doesNotExist();
    }

    @Test
    void deleteByDigestKeepsTagsThatWereMovedAway() {
        Fixtures.Pushed old = pushImage(storage, REPO, "old", Tag.of("latest"));
        Fixtures.Pushed current = pushImage(storage, REPO, "new", Tag.of("latest"));

        storage.deleteManifest(REPO, old.reference());

        assertThat(storage.getManifest(REPO, Reference.parse("latest")).digest()).isEqualTo(current.digest());
    }

    @Test
    void deleteByTagRemovesOnlyThatTag() {
        Fixtures.Pushed image = pushImage(storage, REPO, "img", Tag.of("a"), Tag.of("b"));

        storage.deleteManifest(REPO, Reference.parse("a"));

        assertThat(storage.tags(REPO, null, 10)).containsExactly(Tag.of("b"));
        assertThat(storage.getManifest(REPO, image.reference()).digest()).isEqualTo(image.digest());
        assertThat(storage.getManifest(REPO, Reference.parse("b")).digest()).isEqualTo(image.digest());
        Fixtures.assertProblem(() -> storage.getManifest(REPO, Reference.parse("a")), Problem.MANIFEST_UNKNOWN);
    }

    @Test
    void deletingWhatIsNotThereIsManifestUnknown() {
        pushImage(storage, REPO, "img", Tag.of("a"));

        Fixtures.assertProblem(() -> storage.deleteManifest(REPO, Reference.parse("nope")), Problem.MANIFEST_UNKNOWN);
        Fixtures.assertProblem(() -> storage.deleteManifest(REPO, new Reference.ByDigest(Fixtures.sha256(utf8("x")))), Problem.MANIFEST_UNKNOWN);
        Fixtures.assertProblem(() -> storage.deleteManifest(RepositoryName.of("nowhere"), Reference.parse("a")), Problem.MANIFEST_UNKNOWN);
    }

    @Test
    void deletingTwiceFailsTheSecondTime() {
        Fixtures.Pushed image = pushImage(storage, REPO, "img", Tag.of("a"));
        storage.deleteManifest(REPO, image.reference());

        Fixtures.assertProblem(() -> storage.deleteManifest(REPO, image.reference()), Problem.MANIFEST_UNKNOWN);
    }

    @Test
    void deleteInOneRepositoryLeavesTheSameManifestInAnother() {
        RepositoryName other = RepositoryName.of("other");
        Fixtures.Pushed mine = pushImage(storage, REPO, "same", Tag.of("t"));
        Fixtures.Pushed theirs = pushImage(storage, other, "same", Tag.of("t"));
        assertThat(mine.digest()).isEqualTo(theirs.digest());

        storage.deleteManifest(REPO, mine.reference());

        assertThat(storage.getManifest(other, Reference.parse("t")).content()).isEqualTo(theirs.content());
    }

    @Test
    void deleteBlobUnlinksItFromThatRepositoryOnly() {
        RepositoryName other = RepositoryName.of("other");
        Digest d = pushBlob(storage, REPO, utf8("blob"));
        pushBlob(storage, other, utf8("blob"));

        storage.deleteBlob(REPO, d);

        Fixtures.assertProblem(() -> storage.blobSize(REPO, d), Problem.BLOB_UNKNOWN);
        Fixtures.assertProblem(() -> storage.openBlob(REPO, d), Problem.BLOB_UNKNOWN);
        assertThat(storage.blobSize(other, d)).isEqualTo(4);
        assertThat(Fixtures.blobData(root, d)).as("data stays until garbage collection").isRegularFile();
        Fixtures.assertProblem(() -> storage.deleteBlob(REPO, d), Problem.BLOB_UNKNOWN);
    }

    @Test
    void mountFromARepositoryHoldingTheBlobLinksIt() {
        RepositoryName source = RepositoryName.of("source");
        Digest d = pushBlob(storage, source, utf8("mounted"));

        assertThat(storage.mountBlob(REPO, source, d)).isEqualTo(7);

        assertThat(storage.blobSize(REPO, d)).isEqualTo(7);
    }

    @Test
    void mountFromARepositoryWithoutTheBlobFailsEvenIfStoredElsewhere() {
        Digest d = pushBlob(storage, RepositoryName.of("elsewhere"), utf8("mounted"));

        assertThat(storage.mountBlob(REPO, RepositoryName.of("source"), d)).isEqualTo(-1);

        Fixtures.assertProblem(() -> storage.blobSize(REPO, d), Problem.BLOB_UNKNOWN);
    }

    @Test
    void automaticMountWithoutSourceLinksAnyStoredBlob() {
        Digest d = pushBlob(storage, RepositoryName.of("elsewhere"), utf8("auto"));

        assertThat(storage.mountBlob(REPO, null, d)).isEqualTo(4);

        assertThat(storage.blobSize(REPO, d)).isEqualTo(4);
    }

    @Test
    void mountOfAnUnknownBlobFails() {
        Digest d = Fixtures.sha256(utf8("never stored"));

        assertThat(storage.mountBlob(REPO, null, d)).isEqualTo(-1);
        assertThat(storage.mountBlob(REPO, RepositoryName.of("source"), d)).isEqualTo(-1);
        Fixtures.assertProblem(() -> storage.blobSize(REPO, d), Problem.BLOB_UNKNOWN);
        assertThat(Fixtures.repoDir(root, REPO)).doesNotExist();
    }

    @Test
    void pushedManifestIsNotAPullableBlobUnlessLinked() {
        Fixtures.Pushed image = pushImage(storage, REPO, "img", Tag.of("t"));

        // registry:2 links manifests under _manifests/revisions only, not _layers.
        Fixtures.assertProblem(() -> storage.blobSize(REPO, image.digest()), Problem.BLOB_UNKNOWN);
        assertThat(storage.blobSize(REPO, image.blobs().get(1))).isPositive();
        assertThat(List.of(storage.getManifest(REPO, image.reference()).digest())).containsExactly(image.digest());
    }

}
