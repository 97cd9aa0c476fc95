package io.berth.storage;

import static io.berth.storage.Fixtures.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.ScratchVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Whether uploads may bypass the page cache is each storage's own: one storage on a volume that refuses
 * {@code O_DIRECT} (an embedded Berth on ramfs, say) must not turn direct writes off for another in the same JVM.
 */
class DirectIoPerStorageTest {
    private static final RepositoryName REPO = RepositoryName.of("team/app");

    private Path disk;

    @BeforeEach
    void diskDirectory() throws IOException {
        disk = Files.createTempDirectory(Files.createDirectories(Path.of("target").toAbsolutePath()), "direct-io-disk-");
    }

    @AfterEach
    void deleteDiskDirectory() {
        FileTrees.delete(disk);
    }

    @Test
    void aVolumeThatRefusesDirectIoFallsBackAloneAndTheDiskStorageStillWritesDirectly() throws IOException {
        byte[] content = new byte[Math.toIntExact(UploadFile.DIRECT_FROM + 3 * UploadFile.STAGING + 5)];
        new Random(11).nextBytes(content);
        try (ScratchVolume ram = ScratchVolume.ramfs()) {
            FileStorage refusing = RegistryStorage.open(ram.path());
            push(refusing, content);

            assertThat(refusing.uploadIo().directRefused()).isTrue();
            assertThat(refusing.uploadIo().directBytes()).isZero();
            assertThat(Files.readAllBytes(Fixtures.blobData(ram.path(), sha256(content)))).isEqualTo(content);

            FileStorage onDisk = RegistryStorage.open(disk);
            push(onDisk, content);

            assertThat(onDisk.uploadIo().directRefused()).isFalse();
            assertThat(onDisk.uploadIo().directBytes()).isGreaterThanOrEqualTo(UploadFile.DIRECT_FROM);
            assertThat(Files.readAllBytes(Fixtures.blobData(disk, sha256(content)))).isEqualTo(content);
        }
    }

    private static void push(RegistryStorage storage, byte[] content) {
        try (Upload upload = storage.startUpload(REPO)) {
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content)}, Long.MAX_VALUE);
            upload.commit(sha256(content));
        }
    }
}
