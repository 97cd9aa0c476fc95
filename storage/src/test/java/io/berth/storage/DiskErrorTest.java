package io.berth.storage;

import static io.berth.storage.Fixtures.sha256;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.testing.ScratchVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A volume whose reads or writes fail with EIO (eiofs, a FUSE layer the test mounts). The failure is STORAGE_FAILED
 * with the OS's words for it; nothing partial becomes visible; an upload keeps exactly the unbroken prefix its file
 * holds, and resumes from it once the volume works again.
 */
class DiskErrorTest {
    private static final RepositoryName REPO = RepositoryName.of("team/app");

    private ScratchVolume volume;
    private Path root;
    private RegistryStorage storage;

    @BeforeEach
    void faultyVolume() throws IOException {
        volume = ScratchVolume.eio();
        root = volume.path().resolve("registry");
        storage = RegistryStorage.open(root);
    }

    @AfterEach
    void unmount() throws IOException {
        volume.close();
    }

    @Test
    void aWriteThatFailsWithEioIsStorageFailedAndTheUploadResumesFromWhatItsFileHolds() throws IOException {
        byte[] content = random(300_000, 1);
        String id;
        try (Upload upload = storage.startUpload(REPO)) {
            id = upload.id();
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content, 0, 100_000)}, Long.MAX_VALUE);
            volume.failWrites(true);
            assertThatThrownBy(() -> upload.write(new ByteBuffer[] {ByteBuffer.wrap(content, 100_000, 200_000)}, Long.MAX_VALUE))
                    .isInstanceOfSatisfying(StorageException.class, e -> {
                        assertThat(e.problem()).isEqualTo(Problem.STORAGE_FAILED);
                        assertThat(e.getMessage()).contains("Input/output error", "upload " + upload.id());
                    });
        } finally {
            volume.failWrites(false);
        }

        assertThat(storage.uploadProgress(REPO, id)).isEqualTo(100_000);
        try (Upload upload = storage.resumeUpload(REPO, id)) {
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content, 100_000, 200_000)}, Long.MAX_VALUE);
            upload.commit(sha256(content));
        }
        assertThat(Files.readAllBytes(Fixtures.blobData(root, sha256(content)))).isEqualTo(content);
    }

    /**
     * A direct write that fails in the background is seen by the next request's write; the bytes staged after it must
     * then never reach the file, even once the disk works again, or the file would hold a hole where the failed write
     * was, and the upload would claim bytes it does not have.
     */
    @Test
    void afterABackgroundWriteFailsNothingMoreIsWrittenSoTheFileHasNoHole() throws IOException {
        int first = Math.toIntExact(UploadFile.DIRECT_FROM - 1);
        byte[] content = random(first + 2 * UploadFile.STAGING + 2 * UploadFile.BLOCK, 2);
        String id;
        try (Upload upload = storage.startUpload(REPO)) {
            id = upload.id();
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content, 0, first)}, Long.MAX_VALUE); // through the page cache
            volume.failWrites(true);
            // Crosses DIRECT_FROM: one full staging buffer goes to a writer thread, which fails; the call itself returns.
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content, first, UploadFile.STAGING)}, Long.MAX_VALUE);
            // The next full buffer waits for that write, and finds it failed.
            assertThatThrownBy(() -> upload.write(new ByteBuffer[] {ByteBuffer.wrap(content, first + UploadFile.STAGING, UploadFile.STAGING)},
                    Long.MAX_VALUE)).isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.STORAGE_FAILED));
            volume.failWrites(false); // the disk works again while the request ends
        } finally {
            volume.failWrites(false);
        }

        long kept = storage.uploadProgress(REPO, id);
        byte[] data = Files.readAllBytes(Fixtures.repoDir(root, REPO).resolve("_uploads").resolve(id).resolve("data"));
        assertThat(data).hasSize(Math.toIntExact(kept));
        assertThat(data).isEqualTo(Arrays.copyOf(content, Math.toIntExact(kept)));

        try (Upload upload = storage.resumeUpload(REPO, id)) {
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content, Math.toIntExact(kept), content.length - Math.toIntExact(kept))}, Long.MAX_VALUE);
            upload.commit(sha256(content));
        }
        assertThat(storage.blobSize(REPO, sha256(content))).isEqualTo(content.length);
    }

    @Test
    void aManifestPushThatFailsWithEioIsStorageFailedAndLeavesNoTag() throws IOException {
        Fixtures.Pushed v1 = Fixtures.pushImage(storage, REPO, "base", Tag.of("v1"));
        volume.failWrites(true);
        try {
            assertThatThrownBy(() -> storage.putManifest(REPO, v1.content(), MediaTypes.OCI_MANIFEST, null, java.util.List.of(Tag.of("v2"))))
                    .isInstanceOfSatisfying(StorageException.class, e -> {
                        assertThat(e.problem()).isEqualTo(Problem.STORAGE_FAILED);
                        assertThat(e.getMessage()).contains("Input/output error");
                    });
        } finally {
            volume.failWrites(false);
        }
        assertThat(storage.tags(REPO, null, 10)).containsExactly(Tag.of("v1"));
        storage.putManifest(REPO, v1.content(), MediaTypes.OCI_MANIFEST, null, java.util.List.of(Tag.of("v2")));
        assertThat(storage.tags(REPO, null, 10)).containsExactly(Tag.of("v1"), Tag.of("v2"));
    }

    @Test
    void aReadThatFailsWithEioIsStorageFailedAndReadsWorkAgainAfter() {
        Fixtures.Pushed v1 = Fixtures.pushImage(storage, REPO, "base", Tag.of("v1"));
        RegistryStorage restarted = RegistryStorage.open(root); // nothing cached: every read reaches the disk
        try {
            volume.failReads(true);
            assertThatThrownBy(() -> restarted.getManifest(REPO, Reference.parse("v1"))).isInstanceOfSatisfying(StorageException.class, e -> {
                assertThat(e.problem()).isEqualTo(Problem.STORAGE_FAILED);
                assertThat(e.getMessage()).contains("Input/output error");
            });
            assertThatThrownBy(() -> restarted.getManifest(REPO, v1.reference())).isInstanceOfSatisfying(StorageException.class,
                    e -> assertThat(e.problem()).isEqualTo(Problem.STORAGE_FAILED));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } finally {
            try {
                volume.failReads(false);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        assertThat(restarted.getManifest(REPO, Reference.parse("v1")).digest()).isEqualTo(v1.digest());
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }
}
