package io.berth.storage;

import static io.berth.storage.Fixtures.blobData;
import static io.berth.storage.Fixtures.pushArtifact;
import static io.berth.storage.Fixtures.pushImage;
import static io.berth.storage.Fixtures.pushIndex;
import static io.berth.storage.Fixtures.repoDir;
import static io.berth.storage.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.storage.Fsck.Finding;
import io.berth.storage.Fsck.Kind;
import io.berth.storage.Fsck.Report;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each kind of damage a crash or a disk can leave, found by {@link Fsck}, and repaired where that is safe. */
class FsckTest extends StorageTestBase {
    private static final Tag V1 = Tag.of("v1");
    private Fixtures.Pushed image;

    @BeforeEach
    void pushAnImage() {
        image = pushImage(storage, REPO, "one", V1);
    }

    private Report check() {
        return Fsck.of(root).run();
    }

    private Report repair() {
        return Fsck.of(root).repair(true).run();
    }

    /** A repair that sees every file as untouched for two hours. */
    private Report repairLater() {
        return Fsck.of(root).repair(true).clock(later()).run();
    }

    private static java.time.Clock later() {
        return new Fixtures.MutableClock(Instant.now().plus(Duration.ofHours(2)));
    }

    private static List<Kind> kinds(Report r) {
        return r.findings().stream().map(Finding::kind).toList();
    }

    @Test
    void aVolumeWithImagesIndexesAndReferrersIsClean() {
        Fixtures.Pushed other = pushImage(storage, REPO, "two");
        pushIndex(storage, REPO, List.of(image, other), Tag.of("multi"));
        pushArtifact(storage, REPO, "sig", image, "application/vnd.example.sig");
        pushImage(storage, RepositoryName.of("team/other"), "three", Tag.of("latest"));

        Report r = check();

        assertThat(r.findings()).isEmpty();
        assertThat(r.damaged()).isFalse();
        assertThat(r.repositories()).isEqualTo(2);
        assertThat(r.blobs()).isEqualTo(3 + 3 + 1 + 3 + 3); // config, layer, manifest each; plus the index
    }

    @Test
    void aBlobWhoseContentDoesNotMatchItsDigestIsQuarantinedSoThatAPushHealsIt() throws IOException {
        Digest layer = image.blobs().get(1);
        byte[] good = Files.readAllBytes(blobData(root, layer));
        byte[] bad = good.clone();
        bad[0] ^= 1;
        Files.write(blobData(root, layer), bad);

        Report found = check();
        assertThat(found.of(Kind.CORRUPT_BLOB)).singleElement().satisfies(f -> {
            assertThat(f.path()).endsWith(layer.hex() + "/data");
            assertThat(f.repaired()).isNull();
        });
        assertThat(found.damaged()).isTrue();
        assertThat(blobData(root, layer)).hasBinaryContent(bad);

        Report repaired = repair();
        assertThat(repaired.of(Kind.CORRUPT_BLOB)).singleElement().satisfies(f -> assertThat(f.repaired()).startsWith("moved to berth-quarantine/"));
        assertThat(blobData(root, layer).getParent()).doesNotExist();
        assertThat(root.resolve(Fsck.QUARANTINE).resolve("sha256-" + layer.hex())).hasBinaryContent(bad);
        assertThat(kinds(repaired)).contains(Kind.INCOMPLETE_MANIFEST); // the image is now known to lack its layer

        Fixtures.pushBlob(RegistryStorage.open(root), REPO, good);
        assertThat(check().findings()).isEmpty();
    }

    @Test
    void aLayerLeftBuriedByACollectionThatStoppedIsNotDamageAndARepairRestoresIt() throws IOException {
        Digest layer = image.blobs().get(1);
        Path data = blobData(root, layer);
        byte[] content = Files.readAllBytes(data);
        Path tombstone = data.resolveSibling(Layout.TOMBSTONE);
        Files.move(data, tombstone); // what a collection killed between its bury and its second look leaves

        Report found = check();
        assertThat(found.damaged()).as("Berth serves a buried blob: %s", found.findings()).isFalse();
        assertThat(found.of(Kind.BURIED_BLOB)).singleElement().satisfies(f -> {
            assertThat(f.path()).endsWith(layer.hex() + "/" + Layout.TOMBSTONE);
            assertThat(f.repaired()).isNull();
        });
        assertThat(found.blobs()).isEqualTo(3);
        assertThat(tombstone).exists();

        Report repaired = repair();
        assertThat(repaired.of(Kind.BURIED_BLOB)).singleElement().satisfies(f -> assertThat(f.repaired()).isEqualTo("restored"));
        assertThat(data).hasBinaryContent(content);
        assertThat(tombstone).doesNotExist();
        assertThat(check().findings()).isEmpty();
    }

    @Test
    void aBuriedBlobIsHashedLikeAnyOther() throws IOException {
        Digest layer = image.blobs().get(1);
        Path tombstone = blobData(root, layer).resolveSibling(Layout.TOMBSTONE);
        Files.move(blobData(root, layer), tombstone);
        Files.write(tombstone, new byte[] {1, 2, 3});

        assertThat(check().of(Kind.CORRUPT_BLOB)).singleElement().satisfies(f -> assertThat(f.path()).endsWith(layer.hex() + "/" + Layout.TOMBSTONE));
    }

    @Test
    void aManifestRevisionWhoseBlobIsMissingIsReportedAndKept() throws IOException {
        FileTrees.delete(blobData(root, image.digest()).getParent());

        Report r = repair();

        assertThat(r.of(Kind.MISSING_MANIFEST_BLOB)).singleElement()
                .satisfies(f -> assertThat(f.path()).endsWith("_manifests/revisions/sha256/" + image.digest().hex() + "/link"));
        assertThat(r.of(Kind.DANGLING_TAG)).hasSize(1);
        assertThat(r.damaged()).isTrue();
        assertThat(repoDir(root, REPO).resolve("_manifests/revisions/sha256/" + image.digest().hex() + "/link")).exists();
        assertThat(repoDir(root, REPO).resolve("_manifests/tags/v1/current/link")).exists();
    }

    @Test
    void aLayerWhoseBlobIsMissingLeavesTheManifestIncompleteAndItsDanglingLinkIsRemoved() {
        Digest layer = image.blobs().get(1);
        FileTrees.delete(blobData(root, layer).getParent());
        Path link = repoDir(root, REPO).resolve("_layers/sha256/" + layer.hex() + "/link");

        Report found = check();
        assertThat(found.of(Kind.INCOMPLETE_MANIFEST)).singleElement().satisfies(f -> assertThat(f.detail()).contains(layer.toString()));
        assertThat(found.of(Kind.DANGLING_LAYER_LINK)).singleElement().satisfies(f -> assertThat(f.repaired()).isNull());
        assertThat(link).exists();

        Report repaired = repair();
        assertThat(repaired.of(Kind.DANGLING_LAYER_LINK)).singleElement().satisfies(f -> assertThat(f.repaired()).isEqualTo("deleted"));
        assertThat(link).doesNotExist();
        assertThat(repaired.damaged()).isTrue();
    }

    @Test
    void aTagPointingAtAManifestTheRepositoryLacksIsReportedAndKept() throws IOException {
        Digest lost = Fixtures.sha256(utf8("never stored"));
        Path current = repoDir(root, REPO).resolve("_manifests/tags/v2/current/link");
        Fixtures.writeRegistry2Link(current, lost);

        Report r = repair();

        assertThat(r.of(Kind.DANGLING_TAG)).singleElement().satisfies(f -> {
            assertThat(f.detail()).contains("team/app:v2", lost.toString());
            assertThat(f.repaired()).isNull();
        });
        assertThat(current).exists();
        assertThat(r.damaged()).isTrue();
    }

    @Test
    void aLinkHoldingAnotherDigestIsBroken() throws IOException {
        Path link = repoDir(root, REPO).resolve("_manifests/revisions/sha256/" + image.digest().hex() + "/link");
        Files.writeString(link, image.blobs().get(0).toString());

        assertThat(check().of(Kind.BROKEN_LINK)).singleElement().satisfies(f -> assertThat(f.path()).endsWith(image.digest().hex() + "/link"));
    }

    @Test
    void aStrayTempFileIsRemovedOnlyOnceItIsOld() throws IOException {
        Path temp = repoDir(root, REPO).resolve("_manifests/tags/v1/current/.link.1f2e3d.tmp");
        Files.writeString(temp, "sha256:");

        Report found = repair();
        assertThat(found.of(Kind.STRAY_TEMP_FILE)).singleElement().satisfies(f -> assertThat(f.repaired()).isNull());
        assertThat(found.damaged()).isFalse();
        assertThat(temp).exists();

        Report repaired = repairLater();
        assertThat(repaired.of(Kind.STRAY_TEMP_FILE)).singleElement().satisfies(f -> assertThat(f.repaired()).isEqualTo("deleted"));
        assertThat(temp).doesNotExist();
        assertThat(check().findings()).isEmpty();
    }

    @Test
    void aHalfFinishedUploadStaysResumableUntilItIsOldThenIsPurged() {
        String id;
        try (Upload upload = storage.startUpload(REPO)) {
            upload.write(Fixtures.buffers(utf8("partial")), Long.MAX_VALUE);
            id = upload.id();
        }

        Report young = repair();
        assertThat(young.of(Kind.HALF_UPLOAD)).singleElement().satisfies(f -> {
            assertThat(f.path()).endsWith("_uploads/" + id);
            assertThat(f.detail()).isEqualTo("7 bytes");
            assertThat(f.repaired()).isNull();
        });
        assertThat(young.damaged()).isFalse();
        try (Upload resumed = storage.resumeUpload(REPO, id)) {
            assertThat(resumed.size()).isEqualTo(7);
        }

        assertThat(repairLater().of(Kind.HALF_UPLOAD)).singleElement().satisfies(f -> assertThat(f.repaired()).isEqualTo("deleted"));
        assertThat(repoDir(root, REPO).resolve("_uploads/" + id)).doesNotExist();
    }

    @Test
    void aReferrersEntryUnderTheWrongSubjectIsBrokenAndRemoved() throws IOException {
        Fixtures.Pushed other = pushImage(storage, REPO, "other");
        Fixtures.Pushed sig = pushArtifact(storage, REPO, "sig", image, "application/vnd.example.sig");
        Path wrong = repoDir(root, REPO).resolve("_berth/referrers/sha256/" + other.digest().hex() + "/sha256/" + sig.digest().hex() + "/link");
        Fixtures.writeRegistry2Link(wrong, sig.digest());
        assertThat(RegistryStorage.open(root).referrers(REPO, other.digest(), null)).extracting(Descriptor::digest)
                .containsExactly(sig.digest()); // what the damage does: a wrong answer

        Report found = check();
        assertThat(found.of(Kind.BROKEN_REFERRER)).singleElement().satisfies(f -> assertThat(f.detail()).contains(image.digest().toString()));
        assertThat(found.damaged()).isTrue();

        assertThat(repair().of(Kind.BROKEN_REFERRER)).singleElement().satisfies(f -> assertThat(f.repaired()).isEqualTo("deleted"));
        assertThat(wrong).doesNotExist();
        RegistryStorage fresh = RegistryStorage.open(root);
        assertThat(fresh.referrers(REPO, other.digest(), null)).isEmpty();
        assertThat(fresh.referrers(REPO, image.digest(), null)).extracting(Descriptor::digest).containsExactly(sig.digest());
        assertThat(check().findings()).isEmpty();
    }

    @Test
    void aMissingReferrersEntryIsWrittenBack() {
        Fixtures.Pushed sig = pushArtifact(storage, REPO, "sig", image, "application/vnd.example.sig");
        Path link = repoDir(root, REPO).resolve("_berth/referrers/sha256/" + image.digest().hex() + "/sha256/" + sig.digest().hex() + "/link");
        FileTrees.delete(link.getParent());

        assertThat(check().of(Kind.MISSING_REFERRER)).hasSize(1);
        assertThat(repair().of(Kind.MISSING_REFERRER)).singleElement().satisfies(f -> assertThat(f.repaired()).isEqualTo("written"));

        assertThat(link).hasContent(sig.digest().toString());
        assertThat(check().findings()).isEmpty();
    }

    @Test
    void aTagDirectoryWithoutACurrentLinkIsAHalfTagRemovedOnceOld() throws IOException {
        Path half = repoDir(root, REPO).resolve("_manifests/tags/v9");
        Fixtures.writeRegistry2Link(half.resolve("index/sha256/" + image.digest().hex() + "/link"), image.digest());

        assertThat(repair().of(Kind.HALF_TAG)).singleElement().satisfies(f -> assertThat(f.repaired()).isNull());
        assertThat(half).exists();
        assertThat(repairLater().of(Kind.HALF_TAG)).singleElement().satisfies(f -> assertThat(f.repaired()).isEqualTo("deleted"));
        assertThat(half).doesNotExist();
    }

    @Test
    void aBlobNoLinkNamesIsAnOrphanAndIsLeftToGarbageCollection() throws IOException {
        Digest orphan = Fixtures.writeRegistry2Blob(root, utf8("nobody links me"));

        Report r = repair();

        assertThat(r.of(Kind.ORPHAN_BLOB)).singleElement().satisfies(f -> assertThat(f.detail()).isEqualTo(orphan.toString()));
        assertThat(r.damaged()).isFalse();
        assertThat(blobData(root, orphan)).exists();
    }

    @Test
    void progressIsReportedEveryFewBlobsWithTheTotals() throws IOException {
        long total;
        try (Stream<Path> files = Files.walk(Fixtures.v2(root).resolve("blobs"))) {
            total = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
        List<Fsck.Progress> seen = new ArrayList<>();

        Fsck.of(root).progress(seen::add, 2, Duration.ofHours(1)).run();

        assertThat(seen).containsExactly(new Fsck.Progress(2, 3, seen.get(0).bytesDone(), total), new Fsck.Progress(3, 3, total, total));
        assertThat(seen.get(0).bytesDone()).isPositive().isLessThan(total);
    }

    @Test
    void oldFilesAreJudgedByTheNewestChangeInTheirTree() throws IOException {
        String id;
        try (Upload upload = storage.startUpload(REPO)) {
            id = upload.id();
        }
        Path dir = repoDir(root, REPO).resolve("_uploads/" + id);
        Files.setLastModifiedTime(dir.resolve("startedat"), FileTime.from(Instant.now().minus(Duration.ofDays(3))));

        assertThat(repair().of(Kind.HALF_UPLOAD)).singleElement().satisfies(f -> assertThat(f.repaired()).isNull());
        assertThat(dir).exists();
    }
}
