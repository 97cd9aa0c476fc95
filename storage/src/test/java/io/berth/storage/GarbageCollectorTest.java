package io.berth.storage;

import static io.berth.storage.Fixtures.blobData;
import static io.berth.storage.Fixtures.pushArtifact;
import static io.berth.storage.Fixtures.pushBlob;
import static io.berth.storage.Fixtures.pushImage;
import static io.berth.storage.Fixtures.pushIndex;
import static io.berth.storage.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GarbageCollectorTest extends StorageTestBase {

    @Test
    void unreferencedBlobIsDeletedAndReferencedOnesKept() {
        Fixtures.Pushed image = pushImage(storage, REPO, "kept", Tag.of("latest"));
        byte[] orphan = utf8("orphan layer, never in a manifest");
        Digest o = pushBlob(storage, REPO, orphan);

        GarbageCollector.Result result = storage.collectGarbage(false, false);

        assertThat(result.blobsDeleted()).isEqualTo(1);
        assertThat(result.bytesFreed()).isEqualTo(orphan.length);
        assertThat(result.manifestsDeleted()).isZero();
        assertThat(blobData(root, o)).doesNotExist();
        assertAlive(image);
    }

    @Test
    void aManifestThatCannotBeReadKeepsEveryBlob() throws Exception {
        Fixtures.Pushed image = pushImage(storage, REPO, "unreadable", Tag.of("v1"));
        Digest orphan = pushBlob(storage, REPO, utf8("orphan layer"));
        // A manifest another writer left that Berth's parser refuses (here: a byte-order mark before the JSON).
        byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
        java.nio.file.Files.write(blobData(root, image.digest()), java.nio.ByteBuffer.allocate(bom.length + image.content().length)
                .put(bom).put(image.content()).array());

        // A fresh process, whose cache has not seen the manifest.
        GarbageCollector.Result result = RegistryStorage.open(root).collectGarbage(false, false);

        assertThat(result.blobsDeleted()).as("what the manifest refers to is unknown").isZero();
        for (Digest d : image.blobs()) {
            assertThat(blobData(root, d)).exists();
        }
        assertThat(blobData(root, orphan)).exists();
    }

    @Test
    void blobUnlinkedFromItsOnlyRepositoryIsDeleted() {
        pushImage(storage, REPO, "kept", Tag.of("latest"));
        Digest d = pushBlob(storage, REPO, utf8("deleted blob"));
        storage.deleteBlob(REPO, d);

        storage.collectGarbage(false, false);

        assertThat(blobData(root, d)).doesNotExist();
    }

    @Test
    void withoutDeleteUntaggedUntaggedManifestsAndTheirBlobsStay() {
        Fixtures.Pushed untagged = pushImage(storage, REPO, "untagged");

        GarbageCollector.Result result = storage.collectGarbage(false, false);

        assertThat(result.manifestsDeleted()).isZero();
        assertThat(result.blobsDeleted()).isZero();
        assertAlive(untagged);
    }

    @Test
    void untaggedUnreachableManifestIsDeletedWithItsBlobs() {
        Fixtures.Pushed tagged = pushImage(storage, REPO, "tagged", Tag.of("latest"));
        Fixtures.Pushed untagged = pushImage(storage, REPO, "untagged");

        GarbageCollector.Result result = storage.collectGarbage(false, true);

        assertThat(result.manifestsDeleted()).isEqualTo(1);
        assertThat(result.blobsDeleted()).isEqualTo(3); // manifest, config and layer
        assertThatThrownBy(() -> storage.getManifest(REPO, untagged.reference())).isInstanceOf(StorageException.class);
        assertThat(blobData(root, untagged.digest())).doesNotExist();
        untagged.blobs().forEach(b -> assertThat(blobData(root, b)).doesNotExist());
        assertAlive(tagged);
    }

    @Test
    void manifestUntaggedByDeletingItsTagIsCollected() {
        Fixtures.Pushed image = pushImage(storage, REPO, "was tagged", Tag.of("old"));
        pushImage(storage, REPO, "anchor", Tag.of("anchor"));
        storage.deleteManifest(REPO, Reference.parse("old"));

        assertThat(storage.collectGarbage(false, true).manifestsDeleted()).isEqualTo(1);
        assertThat(blobData(root, image.digest())).doesNotExist();
    }

    @Test
    void taggedIndexKeepsItsUntaggedChildrenAndTheirBlobs() {
        Fixtures.Pushed amd64 = pushImage(storage, REPO, "amd64");
        Fixtures.Pushed arm64 = pushImage(storage, REPO, "arm64");
        Fixtures.Pushed index = pushIndex(storage, REPO, List.of(amd64, arm64), Tag.of("latest"));

        GarbageCollector.Result result = storage.collectGarbage(false, true);

        assertThat(result.manifestsDeleted()).isZero();
        assertThat(result.blobsDeleted()).isZero();
        assertAlive(index);
        assertAlive(amd64);
        assertAlive(arm64);
    }

    @ParameterizedTest(name = "deleteUntagged={0}")
    @ValueSource(booleans = {false, true})
    void aProtectedIndexKeepsItsChildrenAndTheirBlobsThroughRefusedDeletesAndCollection(boolean deleteUntagged) {
        TagGuard immutable = (repo, tag) -> tag.value().equals("v1") ? "tag v1 is immutable" : null;
        Fixtures.Pushed amd64 = pushImage(storage, REPO, "amd64");
        Fixtures.Pushed arm64 = pushImage(storage, REPO, "arm64");
        Fixtures.Pushed index = pushIndex(storage, REPO, List.of(amd64, arm64), Tag.of("v1"));
        Fixtures.Pushed untagged = pushImage(storage, REPO, "untagged");
        for (Fixtures.Pushed child : List.of(amd64, arm64)) {
            Fixtures.assertProblem(() -> storage.deleteManifest(REPO, child.reference(), immutable), Problem.DENIED);
            for (Digest blob : child.blobs()) {
                Fixtures.assertProblem(() -> storage.deleteBlob(REPO, blob, immutable), Problem.DENIED);
            }
        }

        GarbageCollector.Result result = storage.collectGarbage(false, deleteUntagged);

        assertThat(result.manifestsDeleted()).isEqualTo(deleteUntagged ? 1 : 0);
        assertThat(result.blobsDeleted()).isEqualTo(deleteUntagged ? 3 : 0);
        assertAlive(index);
        assertAlive(amd64);
        assertAlive(arm64);
        assertThat(storage.getManifest(REPO, Reference.parse("v1")).digest()).isEqualTo(index.digest());
        if (!deleteUntagged) {
            assertAlive(untagged);
        }
    }

    @Test
    void untaggedIndexIsDeletedWithItsChildren() {
        Fixtures.Pushed child = pushImage(storage, REPO, "child");
        Fixtures.Pushed index = pushIndex(storage, REPO, List.of(child));
        pushImage(storage, REPO, "anchor", Tag.of("anchor"));

        GarbageCollector.Result result = storage.collectGarbage(false, true);

        assertThat(result.manifestsDeleted()).isEqualTo(2);
        assertThat(blobData(root, index.digest())).doesNotExist();
        assertThat(blobData(root, child.digest())).doesNotExist();
    }

    @Test
    void referrerOfATaggedImageIsKept() {
        Fixtures.Pushed image = pushImage(storage, REPO, "image", Tag.of("latest"));
        Fixtures.Pushed signature = pushArtifact(storage, REPO, "signature", image, "application/x-sig");
        Fixtures.Pushed sigOfSig = pushArtifact(storage, REPO, "countersignature", signature, "application/x-sig");

        GarbageCollector.Result result = storage.collectGarbage(false, true);

        assertThat(result.manifestsDeleted()).isZero();
        assertAlive(signature);
        assertAlive(sigOfSig);
        assertThat(storage.referrers(REPO, image.digest(), null)).extracting(Descriptor::digest).containsExactly(signature.digest());
    }

    @Test
    void referrerOfAnIndexChildIsKept() {
        Fixtures.Pushed child = pushImage(storage, REPO, "child");
        pushIndex(storage, REPO, List.of(child), Tag.of("latest"));
        Fixtures.Pushed sbom = pushArtifact(storage, REPO, "sbom", child, "application/spdx+json");

        assertThat(storage.collectGarbage(false, true).manifestsDeleted()).isZero();
        assertAlive(sbom);
    }

    @Test
    void referrerOfAnUnreachableManifestIsDeletedWithIt() {
        pushImage(storage, REPO, "anchor", Tag.of("anchor"));
        Fixtures.Pushed orphan = pushImage(storage, REPO, "orphan");
        Fixtures.Pushed signature = pushArtifact(storage, REPO, "signature", orphan, "application/x-sig");

        assertThat(storage.collectGarbage(false, true).manifestsDeleted()).isEqualTo(2);
        assertThat(blobData(root, signature.digest())).doesNotExist();
        assertThat(storage.referrers(REPO, orphan.digest(), null)).isEmpty();
    }

    @Test
    void blobSharedWithALiveManifestSurvives() {
        Fixtures.Pushed tagged = pushImage(storage, REPO, "shared", Tag.of("latest"));
        // Same config and layer, different manifest bytes: an annotation makes it distinct.
        com.fasterxml.jackson.databind.node.ObjectNode json = Fixtures.JSON.createObjectNode();
        try {
            json = (com.fasterxml.jackson.databind.node.ObjectNode) Fixtures.JSON.readTree(tagged.content());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        json.putObject("annotations").put("k", "v");
        StoredManifest untagged = storage.putManifest(REPO, Fixtures.bytes(json), null, null, List.of());

        storage.collectGarbage(false, true);

        assertThat(blobData(root, untagged.digest())).doesNotExist();
        assertAlive(tagged);
    }

    @Test
    void blobUsedByAnotherRepositorySurvives() {
        RepositoryName other = RepositoryName.of("other");
        pushImage(storage, REPO, "anchor", Tag.of("anchor"));
        Fixtures.Pushed untaggedHere = pushImage(storage, REPO, "same");
        Fixtures.Pushed taggedThere = pushImage(storage, other, "same", Tag.of("t"));

        storage.collectGarbage(false, true);

        assertThatThrownBy(() -> storage.getManifest(REPO, untaggedHere.reference())).isInstanceOf(StorageException.class);
        assertAlive(other, taggedThere);
    }

    @Test
    void dryRunReportsButDeletesNothing() {
        pushImage(storage, REPO, "tagged", Tag.of("latest"));
        pushImage(storage, REPO, "untagged");
        pushBlob(storage, REPO, utf8("orphan"));
        TreeMap<String, String> before = Fixtures.snapshot(root);

        GarbageCollector.Result dry = storage.collectGarbage(true, true);

        assertThat(Fixtures.snapshot(root)).isEqualTo(before);
        assertThat(dry.manifestsDeleted()).isEqualTo(1);
        assertThat(dry.blobsDeleted()).isEqualTo(4);
        assertThat(dry.bytesFreed()).isPositive();
        assertThat(storage.collectGarbage(false, true)).as("the real run does what the dry run said").isEqualTo(dry);
    }

    @Test
    void secondRunFindsNothing() {
        pushImage(storage, REPO, "tagged", Tag.of("latest"));
        pushImage(storage, REPO, "untagged");
        storage.collectGarbage(false, true);

        assertThat(storage.collectGarbage(false, true)).isEqualTo(new GarbageCollector.Result(0, 0, 0));
    }

    @Test
    void uploadsInProgressAreLeftAlone() {
        pushImage(storage, REPO, "tagged", Tag.of("latest"));
        String id;
        try (Upload u = storage.startUpload(REPO)) {
            id = u.id();
            u.write(Fixtures.buffers(utf8("half")), 100);
        }

        storage.collectGarbage(false, true);

        try (Upload u = storage.resumeUpload(REPO, id)) {
            assertThat(u.size()).isEqualTo(4);
        }
    }

    private void assertAlive(Fixtures.Pushed m) {
        assertAlive(REPO, m);
    }

    private void assertAlive(RepositoryName repo, Fixtures.Pushed m) {
        assertThat(storage.getManifest(repo, m.reference()).content()).isEqualTo(m.content());
        assertThat(blobData(root, m.digest())).isRegularFile();
        for (Digest b : m.blobs()) {
            assertThat(storage.blobSize(repo, b)).isPositive();
        }
    }
}
