package io.berth.storage;

import static io.berth.storage.Fixtures.sha256;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.berth.testing.ScratchVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A volume that runs out of space (ENOSPC) in the middle of an upload, a commit or a manifest push, on a real ext4
 * filesystem the test mounts. The failure is STORAGE_FULL (the server answers 507); nothing partial is ever visible
 * (no blob whose bytes are not its digest, no link to a missing blob, no tag without a target, no temp file); the
 * upload stays resumable from what its file holds; and once space is freed the same push works.
 */
class DiskFullTest {
    private static final RepositoryName REPO = RepositoryName.of("team/app");
    private static final int CHUNK = 1 << 20;

    private ScratchVolume volume;
    private Path root;
    private RegistryStorage storage;

    @BeforeEach
    void smallVolume() throws IOException {
        volume = ScratchVolume.ext4(32);
        root = volume.path().resolve("registry");
        storage = RegistryStorage.open(root);
    }

    @AfterEach
    void unmount() throws IOException {
        volume.close();
    }

    @Test
    void anUploadThatRunsOutOfSpaceFailsAsStorageFullAndResumesOnceSpaceIsFreed() throws IOException {
        byte[] content = random(12 << 20, 1);
        Path filler = volume.fill(6 << 20);
        String id;
        StorageException full = null;
        try (Upload upload = storage.startUpload(REPO)) {
            id = upload.id();
            for (int at = 0; at < content.length && full == null; at += CHUNK) {
                try {
                    upload.write(new ByteBuffer[] {ByteBuffer.wrap(content, at, Math.min(CHUNK, content.length - at))}, Long.MAX_VALUE);
                } catch (StorageException e) {
                    full = e;
                }
            }
        }

        assertThat(full).as("a write ran out of space").isNotNull();
        assertThat(full.problem()).isEqualTo(Problem.STORAGE_FULL);
        assertThat(full.getMessage()).contains("No space left on device").contains("upload " + id);
        long kept = storage.uploadProgress(REPO, id);
        assertThat(kept).isLessThan(content.length);
        assertThat(uploadData(id)).isEqualTo(Arrays.copyOf(content, Math.toIntExact(kept)));
        assertNothingPartialIsVisible();

        volume.free(filler);
        try (Upload upload = storage.resumeUpload(REPO, id)) {
            assertThat(upload.size()).isEqualTo(kept);
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content, Math.toIntExact(kept), content.length - Math.toIntExact(kept))}, Long.MAX_VALUE);
            assertThat(upload.commit(sha256(content))).isEqualTo(content.length);
        }
        assertThat(Files.readAllBytes(Fixtures.blobData(root, sha256(content)))).isEqualTo(content);
        assertNothingPartialIsVisible();
    }

    @Test
    void aCommitWhoseStagedBytesFindNoSpaceKeepsTheUploadResumable() throws IOException {
        // Past DIRECT_FROM with a partial block at the end: the commit itself has bytes left to write.
        byte[] content = random(Math.toIntExact(UploadFile.DIRECT_FROM + 3 * UploadFile.BLOCK + 100), 2);
        Digest digest = sha256(content);
        String id;
        Path filler;
        try (Upload upload = storage.startUpload(REPO)) {
            id = upload.id();
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content)}, Long.MAX_VALUE);
            filler = volume.fillUp();

            assertThatThrownBy(() -> upload.commit(digest)).isInstanceOfSatisfying(StorageException.class,
                    e -> assertThat(e.problem()).isEqualTo(Problem.STORAGE_FULL));
        }

        assertThat(Fixtures.blobData(root, digest)).doesNotExist();
        long kept = storage.uploadProgress(REPO, id);
        assertThat(uploadData(id)).isEqualTo(Arrays.copyOf(content, Math.toIntExact(kept)));
        assertNothingPartialIsVisible();

        volume.free(filler);
        try (Upload upload = storage.resumeUpload(REPO, id)) {
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content, Math.toIntExact(kept), content.length - Math.toIntExact(kept))}, Long.MAX_VALUE);
            upload.commit(digest);
        }
        assertThat(storage.blobSize(REPO, digest)).isEqualTo(content.length);
        assertNothingPartialIsVisible();
    }

    @Test
    void aCommitThatCannotStoreTheBlobCanBeCompletedAgainOnceSpaceIsFreed() throws IOException {
        byte[] content = random(200_000, 3);
        Digest digest = sha256(content);
        String id;
        Path filler;
        try (Upload upload = storage.startUpload(REPO)) {
            id = upload.id();
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content)}, Long.MAX_VALUE);
            upload.close();
        }
        filler = volume.fillUp();
        try (Upload upload = storage.resumeUpload(REPO, id)) {
            // The bytes are all on disk; the blob store's directories need room.
            assertThatThrownBy(() -> upload.commit(digest)).isInstanceOfSatisfying(StorageException.class,
                    e -> assertThat(e.problem()).isEqualTo(Problem.STORAGE_FULL));
        }
        assertThat(storage.uploadProgress(REPO, id)).isEqualTo(content.length);
        assertNothingPartialIsVisible();

        volume.free(filler);
        try (Upload upload = storage.resumeUpload(REPO, id)) {
            assertThat(upload.commit(digest)).isEqualTo(content.length);
        }
        assertThat(storage.blobSize(REPO, digest)).isEqualTo(content.length);
        assertNothingPartialIsVisible();
    }

    @Test
    void startingAnUploadOnAFullVolumeIsStorageFullAndLeavesNothing() throws IOException {
        Fixtures.pushBlob(storage, REPO, Fixtures.utf8("makes the repository's directories"));
        Path filler = volume.fillUp();

        // Each upload takes a directory of its own, and the volume has no block for one.
        assertThatThrownBy(() -> storage.startUpload(REPO)).isInstanceOfSatisfying(StorageException.class,
                e -> assertThat(e.problem()).isEqualTo(Problem.STORAGE_FULL));
        assertThat(uploadDirs()).isEmpty();
        assertNothingPartialIsVisible();

        volume.free(filler);
        Fixtures.pushBlob(storage, REPO, Fixtures.utf8("and now it works"));
    }

    /**
     * A manifest push with a new tag, on a volume that frees one block more at each try: each try either fails with
     * STORAGE_FULL and leaves no trace of the new tag, or stores the manifest and the tag whole.
     */
    @Test
    void aManifestPushThatRunsOutOfSpaceLeavesNoTagWithoutATarget() throws IOException {
        Fixtures.Pushed first = Fixtures.pushImage(storage, REPO, "base", Tag.of("v1"));
        List<Path> spacers = new java.util.ArrayList<>();
        for (int i = 0; i < 16; i++) {
            spacers.add(Files.write(volume.path().resolve("spacer-" + i), new byte[4096]));
        }
        Path filler = volume.fillUp();
        int failures = 0;
        Digest stored = null;
        for (Path spacer : spacers) {
            try {
                stored = storage.putManifest(REPO, first.content(), MediaTypes.OCI_MANIFEST, null, List.of(Tag.of("v2"))).digest();
                break;
            } catch (StorageException e) {
                assertThat(e.problem()).isEqualTo(Problem.STORAGE_FULL);
                failures++;
                assertThat(storage.tags(REPO, null, 100)).containsExactly(Tag.of("v1"));
                Fixtures.assertProblem(() -> storage.getManifest(REPO, Reference.parse("v2")), Problem.MANIFEST_UNKNOWN);
                assertNothingPartialIsVisible();
            }
            volume.free(spacer);
        }
        assertThat(failures).as("the first try found the volume full").isPositive();
        if (stored == null) {
            volume.free(filler);
            stored = storage.putManifest(REPO, first.content(), MediaTypes.OCI_MANIFEST, null, List.of(Tag.of("v2"))).digest();
        }
        assertThat(stored).isEqualTo(first.digest());
        assertThat(storage.tags(REPO, null, 100)).containsExactly(Tag.of("v1"), Tag.of("v2"));
        assertThat(storage.getManifest(REPO, Reference.parse("v2")).digest()).isEqualTo(first.digest());
        assertNothingPartialIsVisible();
    }

    @Test
    void aNewManifestOnAFullVolumeIsStorageFullAndInvisible() throws IOException {
        Fixtures.pushImage(storage, REPO, "base", Tag.of("v1"));
        Path filler = volume.fillUp();

        assertThatThrownBy(() -> Fixtures.pushImage(storage, REPO, "other", Tag.of("v2"))).isInstanceOfSatisfying(
                StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.STORAGE_FULL));
        assertThat(storage.tags(REPO, null, 100)).containsExactly(Tag.of("v1"));
        assertNothingPartialIsVisible();

        volume.free(filler);
        Fixtures.pushImage(storage, REPO, "other", Tag.of("v2"));
        assertThat(storage.tags(REPO, null, 100)).containsExactly(Tag.of("v1"), Tag.of("v2"));
    }

    @Test
    void movingATagBackOnAFullVolumeFailsAsStorageFullAndTheTagKeepsItsTarget() throws IOException {
        Fixtures.Pushed a = Fixtures.pushImage(storage, REPO, "a", Tag.of("v1"));
        Fixtures.Pushed b = Fixtures.pushImage(storage, REPO, "b", Tag.of("v1"));
        Path filler = volume.fillUp();

        // Every directory and link exists but the new current link, whose bytes need a block.
        assertThatThrownBy(() -> storage.putManifest(REPO, a.content(), MediaTypes.OCI_MANIFEST, null, List.of(Tag.of("v1"))))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.STORAGE_FULL));
        assertThat(storage.getManifest(REPO, Reference.parse("v1")).digest()).isEqualTo(b.digest());
        assertNothingPartialIsVisible();

        volume.free(filler);
        storage.putManifest(REPO, a.content(), MediaTypes.OCI_MANIFEST, null, List.of(Tag.of("v1")));
        assertThat(storage.getManifest(REPO, Reference.parse("v1")).digest()).isEqualTo(a.digest());
    }

    @Test
    void anAtomicWriteThatFindsNoRoomLeavesTheTargetAsItWasAndNoTempFile() throws IOException {
        Path dir = Files.createDirectories(volume.path().resolve("dir"));
        Path target = Files.writeString(dir.resolve("file"), "old");
        volume.fillUp();

        assertThatThrownBy(() -> AtomicFiles.write(target, new byte[8192])).isInstanceOfSatisfying(StorageException.class,
                e -> assertThat(e.problem()).isEqualTo(Problem.STORAGE_FULL));
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(target);
        }
        assertThat(Files.readString(target)).isEqualTo("old");
    }

    /**
     * Every blob's bytes hash to its name, every link names a stored blob, every tag has a current link, and no temp
     * file is left anywhere under the root.
     */
    private void assertNothingPartialIsVisible() throws IOException {
        Path v2 = Fixtures.v2(root);
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.toList()) {
                String name = p.getFileName().toString();
                if (name.endsWith(".tmp")) {
                    fail("a temp file was left behind: " + root.relativize(p));
                }
                if (name.equals("data") && p.startsWith(v2.resolve("blobs"))) {
                    assertThat(sha256(Files.readAllBytes(p)).hex()).as("blob %s", root.relativize(p))
                            .isEqualTo(p.getParent().getFileName().toString());
                }
                if (name.equals("link") && Files.isRegularFile(p)) {
                    Digest target = Digest.parse(Files.readString(p).strip());
                    assertThat(Fixtures.blobData(root, target)).as("target of %s", root.relativize(p)).isRegularFile();
                }
            }
        }
        Path tags = Fixtures.repoDir(root, REPO).resolve("_manifests/tags");
        if (Files.isDirectory(tags)) {
            try (Stream<Path> each = Files.list(tags)) {
                for (Path tag : each.toList()) {
                    assertThat(tag.resolve("current/link")).as("tag %s", tag.getFileName()).isRegularFile();
                }
            }
        }
    }

    private byte[] uploadData(String id) throws IOException {
        return Files.readAllBytes(Fixtures.repoDir(root, REPO).resolve("_uploads").resolve(id).resolve("data"));
    }

    private List<Path> uploadDirs() throws IOException {
        Path uploads = Fixtures.repoDir(root, REPO).resolve("_uploads");
        if (!Files.isDirectory(uploads)) {
            return List.of();
        }
        try (Stream<Path> dirs = Files.list(uploads)) {
            return dirs.toList();
        }
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }
}
