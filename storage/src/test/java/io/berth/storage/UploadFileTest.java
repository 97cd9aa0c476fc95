package io.berth.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The upload file must hold exactly the bytes appended, in order, after every request, whether they
 * went through the page cache, straight to the disk, or both, and whatever their sizes and alignment.
 *
 * <p>The files are under the build's {@code target/} directory, not {@code java.io.tmpdir}: that may be a tmpfs or
 * ramfs that refuses {@code O_DIRECT}, where the direct cases would pass without a single direct write.
 */
class UploadFileTest {
    private Path dir;
    private final UploadIo io = new UploadIo(true);

    @BeforeEach
    void directoryOnTheBuildDisk() throws IOException {
        Files.createDirectories(Path.of("target"));
        dir = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "upload-file-test-");
    }

    @AfterEach
    void deleteDirectory() {
        FileTrees.delete(dir);
    }

    @ParameterizedTest(name = "direct I/O allowed: {0}")
    @ValueSource(booleans = {true, false})
    void oddlySizedAppendsAcrossRequestsLandInOrder(boolean direct) throws IOException {
        if (direct) {
            requireDirectIo();
        }
        io.allowDirect(direct);
        Path file = dir.resolve("data");
        byte[] expected = random(UploadFile.DIRECT_FROM + 3L * UploadFile.STAGING + 12_345, 1);
        Random sizes = new Random(2);
        int at = 0;
        boolean wentDirect = false;
        // Each request appends a few odd-sized buffers; the file is reopened between requests, as a PATCH series does.
        while (at < expected.length) {
            try (UploadFile f = new UploadFile(io, file)) {
                assertThat(f.size()).isEqualTo(at);
                for (int i = 0; i < 3 && at < expected.length; i++) {
                    int a = Math.min(expected.length - at, 1 + sizes.nextInt(700_000));
                    int b = Math.min(expected.length - at - a, sizes.nextInt(5_000));
                    f.append(new ByteBuffer[] {ByteBuffer.wrap(expected, at, a), ByteBuffer.wrap(expected, at + a, b).slice()});
                    at += a + b;
                    assertThat(f.size()).isEqualTo(at);
                }
                wentDirect |= f.isDirect();
            }
            assertThat(Files.size(file)).isEqualTo(at);
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(expected);
        assertThat(wentDirect).isEqualTo(direct);
        assertThat(io.directRefused()).isFalse();
        if (direct) {
            // Everything past the first DIRECT_FROM bytes, bar each request's last partial block, went around the page cache.
            assertThat(io.directBytes()).isGreaterThan(expected.length - UploadFile.DIRECT_FROM - 50L * UploadFile.BLOCK);
        } else {
            assertThat(io.directBytes()).isZero();
        }
    }

    @Test
    void oneLargeAppendGoesDirectWhereTheFilesystemTakesIt() throws IOException {
        requireDirectIo();
        Path file = dir.resolve("data");
        byte[] expected = random(UploadFile.DIRECT_FROM + UploadFile.STAGING + 1, 3);
        try (UploadFile f = new UploadFile(io, file)) {
            f.append(new ByteBuffer[] {ByteBuffer.allocateDirect(expected.length).put(expected).flip()});
            assertThat(f.isDirect()).isTrue();
            f.force();
            assertThat(Files.readAllBytes(file)).isEqualTo(expected);
        }
        assertThat(io.directBytes()).isEqualTo(UploadFile.DIRECT_FROM + UploadFile.STAGING);
    }

    @Test
    void smallFilesNeverGoDirect() throws IOException {
        Path file = dir.resolve("data");
        try (UploadFile f = new UploadFile(io, file)) {
            f.append(new ByteBuffer[] {ByteBuffer.wrap(random(UploadFile.DIRECT_FROM - 1, 4))});
            assertThat(f.isDirect()).isFalse();
        }
        assertThat(Files.size(file)).isEqualTo(UploadFile.DIRECT_FROM - 1);
    }

    @Test
    void uploadsBeyondThePooledBuffersFallBackToThePageCache() throws IOException {
        requireDirectIo();
        byte[] content = random(UploadFile.DIRECT_FROM + 5, 5);
        List<UploadFile> open = new ArrayList<>();
        try {
            int direct = 0;
            for (int i = 0; i < UploadIo.POOLED / 2 + 3; i++) {
                UploadFile f = new UploadFile(io, dir.resolve("data-" + i));
                open.add(f);
                f.append(new ByteBuffer[] {ByteBuffer.wrap(content)});
                direct += f.isDirect() ? 1 : 0;
            }
            assertThat(direct).isEqualTo(UploadIo.POOLED / 2);
        } finally {
            for (UploadFile f : open) {
                f.close();
            }
        }
        for (int i = 0; i < open.size(); i++) {
            assertThat(Files.readAllBytes(dir.resolve("data-" + i))).isEqualTo(content);
        }
        // Closed uploads gave their buffers back.
        try (UploadFile f = new UploadFile(io, dir.resolve("again"))) {
            f.append(new ByteBuffer[] {ByteBuffer.wrap(content)});
            assertThat(f.isDirect()).isTrue();
        }
    }

    /** Skips only where the build directory's own filesystem refuses O_DIRECT: then no code could write directly there. */
    private void requireDirectIo() throws IOException {
        assumeTrue(directIoWorks(), "the build directory " + dir + " is on a filesystem that refuses O_DIRECT");
    }

    /** Whether the test directory's filesystem takes an aligned O_DIRECT write at all. */
    private boolean directIoWorks() throws IOException {
        Path probe = dir.resolve("probe");
        try (FileChannel ch = FileChannel.open(probe, StandardOpenOption.CREATE, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT)) {
            ch.write(ByteBuffer.allocateDirect(2 * UploadFile.BLOCK).alignedSlice(UploadFile.BLOCK).limit(UploadFile.BLOCK), 0);
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    private static byte[] random(long size, long seed) {
        byte[] b = new byte[Math.toIntExact(size)];
        new Random(seed).nextBytes(b);
        return b;
    }
}
