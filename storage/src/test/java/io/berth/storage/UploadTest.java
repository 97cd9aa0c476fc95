package io.berth.storage;

import static io.berth.storage.Fixtures.blobData;
import static io.berth.storage.Fixtures.buffers;
import static io.berth.storage.Fixtures.repoDir;
import static io.berth.storage.Fixtures.sha256;
import static io.berth.storage.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class UploadTest extends StorageTestBase {

    @Test
    void chunksWrittenAcrossRequestsCommitToOneBlob() throws IOException {
        String id;
        try (Upload first = storage.startUpload(REPO)) {
            id = first.id();
            first.write(buffers(utf8("hello"), utf8(", ")), Long.MAX_VALUE);
            assertThat(first.size()).isEqualTo(7);
        }
        long size;
        try (Upload second = storage.resumeUpload(REPO, id)) {
            assertThat(second.size()).isEqualTo(7);
            second.write(buffers(utf8("world")), Long.MAX_VALUE);
            size = second.commit(sha256(utf8("hello, world")));
        }

        Digest d = sha256(utf8("hello, world"));
        assertThat(size).isEqualTo(12);
        assertThat(storage.blobSize(REPO, d)).isEqualTo(12);
        try (BlobContent.File blob = (BlobContent.File) storage.openBlob(REPO, d)) {
            ByteBuffer buf = ByteBuffer.allocate(32);
            blob.channel().read(buf);
            assertThat(new String(buf.array(), 0, buf.position(), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("hello, world");
            assertThat(blob.size()).isEqualTo(12);
            assertThat(blob.digest()).isEqualTo(d);
        }
    }

    @Test
    void committedUploadIsGoneAndCannotBeResumed() {
        String id;
        try (Upload upload = storage.startUpload(REPO)) {
            id = upload.id();
            upload.write(buffers(utf8("x")), Long.MAX_VALUE);
            upload.commit(sha256(utf8("x")));
        }

        assertThat(repoDir(root, REPO).resolve("_uploads/" + id)).doesNotExist();
        Fixtures.assertProblem(() -> storage.resumeUpload(REPO, id), Problem.BLOB_UPLOAD_UNKNOWN);
    }

    @Test
    void emptyBlobCommits() {
        try (Upload upload = storage.startUpload(REPO)) {
            assertThat(upload.commit(sha256(new byte[0]))).isZero();
        }

        assertThat(storage.blobSize(REPO, Digest.sha256(new byte[0]))).isZero();
    }

    @Test
    void cancelDeletesTheUploadAndItsBytes() {
        String id;
        try (Upload upload = storage.startUpload(REPO)) {
            id = upload.id();
            upload.write(buffers(utf8("discard me")), Long.MAX_VALUE);
            upload.cancel();
        }

        assertThat(repoDir(root, REPO).resolve("_uploads/" + id)).doesNotExist();
        Fixtures.assertProblem(() -> storage.resumeUpload(REPO, id), Problem.BLOB_UPLOAD_UNKNOWN);
        assertThat(blobData(root, sha256(utf8("discard me")))).doesNotExist();
    }

    @Test
    void resumesAfterARestartWithTheRightDigest() {
        String id;
        try (Upload upload = storage.startUpload(REPO)) {
            id = upload.id();
            upload.write(buffers(utf8("before restart, ")), Long.MAX_VALUE);
        }

        RegistryStorage restarted = RegistryStorage.open(root);
        Digest whole = sha256(utf8("before restart, after restart"));
        try (Upload upload = restarted.resumeUpload(REPO, id)) {
            assertThat(upload.size()).isEqualTo(16);
            upload.write(buffers(utf8("after restart")), Long.MAX_VALUE);
            upload.commit(whole);
        }

        assertThat(restarted.blobSize(REPO, whole)).isEqualTo(29);
        assertThat(storage.blobSize(REPO, whole)).isEqualTo(29);
    }

    @Test
    void largeUploadResumesAcrossRequestsAndARestartWhateverTheBlockAlignment() throws IOException {
        byte[] content = new byte[Math.toIntExact(2 * UploadFile.DIRECT_FROM + 777)];
        new java.util.Random(7).nextBytes(content);
        int first = Math.toIntExact(UploadFile.DIRECT_FROM + UploadFile.BLOCK + 1);
        String id;
        try (Upload upload = storage.startUpload(REPO)) {
            id = upload.id();
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content, 0, first)}, Long.MAX_VALUE);
        }

        RegistryStorage restarted = RegistryStorage.open(root);
        Digest whole = sha256(content);
        try (Upload upload = restarted.resumeUpload(REPO, id)) {
            assertThat(upload.size()).isEqualTo(first);
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content, first, content.length - first)}, Long.MAX_VALUE);
            assertThat(upload.commit(whole)).isEqualTo(content.length);
        }

        assertThat(Files.readAllBytes(blobData(root, whole))).isEqualTo(content);
    }

    @Test
    void digestMismatchCancelsTheUploadAndStoresNothing() {
        Digest wrong = sha256(utf8("something else"));
        String id;
        try (Upload upload = storage.startUpload(REPO)) {
            id = upload.id();
            upload.write(buffers(utf8("actual content")), Long.MAX_VALUE);

            Fixtures.assertProblem(() -> upload.commit(wrong), Problem.DIGEST_INVALID);
        }

        Fixtures.assertProblem(() -> storage.resumeUpload(REPO, id), Problem.BLOB_UPLOAD_UNKNOWN);
        assertThat(blobData(root, wrong)).doesNotExist();
        assertThat(blobData(root, sha256(utf8("actual content")))).doesNotExist();
        Fixtures.assertProblem(() -> storage.blobSize(REPO, sha256(utf8("actual content"))), Problem.BLOB_UNKNOWN);
        assertThat(repoDir(root, REPO).resolve("_uploads/" + id)).doesNotExist();
    }

    @Test
    void commitsUnderSha512() throws IOException {
        byte[] content = utf8("sha512 content");
        Digest d = Fixtures.sha512(content);
        try (Upload upload = storage.startUpload(REPO)) {
            upload.write(buffers(content), Long.MAX_VALUE);
            assertThat(upload.commit(d)).isEqualTo(content.length);
        }

        assertThat(storage.blobSize(REPO, d)).isEqualTo(content.length);
        assertThat(Files.readAllBytes(blobData(root, d))).isEqualTo(content);
        assertThat(blobData(root, d).toString()).contains("/blobs/sha512/" + d.hex().substring(0, 2) + "/");
        assertThat(Fixtures.read(repoDir(root, REPO).resolve("_layers/sha512/" + d.hex() + "/link"))).isEqualTo(d.toString());
    }

    @Test
    void sha512MismatchIsRefusedToo() {
        try (Upload upload = storage.startUpload(REPO)) {
            upload.write(buffers(utf8("a")), Long.MAX_VALUE);
            Fixtures.assertProblem(() -> upload.commit(Fixtures.sha512(utf8("b"))), Problem.DIGEST_INVALID);
        }
    }

    @Test
    void secondHoldOnAnUploadInUseIsRefused() {
        try (Upload upload = storage.startUpload(REPO)) {
            Fixtures.assertProblem(() -> storage.resumeUpload(REPO, upload.id()), Problem.BLOB_UPLOAD_INVALID);
            upload.close();

            try (Upload again = storage.resumeUpload(REPO, upload.id())) {
                assertThat(again.id()).isEqualTo(upload.id());
            }
        }
    }

    @Test
    void progressIsReadWithoutTakingHoldAndRefusedWhileARequestWrites() {
        String id;
        try (Upload upload = storage.startUpload(REPO)) {
            id = upload.id();
            upload.write(buffers(utf8("hello")), Long.MAX_VALUE);
            Fixtures.assertProblem(() -> storage.uploadProgress(REPO, id), Problem.BLOB_UPLOAD_INVALID);
        }
        assertThat(storage.uploadProgress(REPO, id)).isEqualTo(5);
        // Reading the progress left the upload free: the next request takes it at once.
        try (Upload next = storage.resumeUpload(REPO, id)) {
            assertThat(next.size()).isEqualTo(5);
        }
        assertThat(RegistryStorage.open(root).uploadProgress(REPO, id)).as("after a restart, from the file").isEqualTo(5);
        Fixtures.assertProblem(() -> storage.uploadProgress(REPO, "no-such-upload"), Problem.BLOB_UPLOAD_UNKNOWN);
        Fixtures.assertProblem(() -> storage.uploadProgress(RepositoryName.of("other"), id), Problem.BLOB_UPLOAD_UNKNOWN);
    }

    @Test
    void statusReadsRacingAWriterNeverMakeItFindTheUploadInUse() throws Exception {
        String id;
        try (Upload upload = storage.startUpload(REPO)) {
            id = upload.id();
        }
        int writes = 2_000;
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        // The writes start once every reader reads, so that they race even when the machine is slow to start threads.
        java.util.concurrent.CountDownLatch reading = new java.util.concurrent.CountDownLatch(4);
        java.util.List<java.util.concurrent.Future<Long>> readers = new java.util.ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(4)) {
            for (int r = 0; r < 4; r++) {
                readers.add(pool.submit(() -> {
                    long reads = 0;
                    long last = 0;
                    while (!done.get()) {
                        reading.countDown();
                        try {
                            long seen = storage.uploadProgress(REPO, id);
                            assertThat(seen).as("progress never goes back").isGreaterThanOrEqualTo(last);
                            last = seen;
                            reads++;
                        } catch (StorageException e) {
                            assertThat(e.problem()).isEqualTo(Problem.BLOB_UPLOAD_INVALID); // the writer holds it
                        }
                    }
                    return reads;
                }));
            }
            try {
                assertThat(reading.await(30, java.util.concurrent.TimeUnit.SECONDS)).as("every reader started").isTrue();
                for (int i = 0; i < writes; i++) {
                    try (Upload upload = storage.resumeUpload(REPO, id)) {
                        upload.write(buffers(utf8("x")), Long.MAX_VALUE);
                    }
                }
            } finally {
                done.set(true);
            }
            for (var reader : readers) {
                assertThat(reader.get()).as("reads").isPositive();
            }
        }
        assertThat(storage.uploadProgress(REPO, id)).isEqualTo(writes);
    }

    @Test
    void refusedSecondHoldDoesNotReleaseTheFirst() {
        try (Upload upload = storage.startUpload(REPO)) {
            Fixtures.assertProblem(() -> storage.resumeUpload(REPO, upload.id()), Problem.BLOB_UPLOAD_INVALID);
            // Still held: a third attempt is refused as well.
            Fixtures.assertProblem(() -> storage.resumeUpload(REPO, upload.id()), Problem.BLOB_UPLOAD_INVALID);
        }
    }

    @Test
    void uploadOfAnotherRepositoryIsUnknown() {
        try (Upload upload = storage.startUpload(REPO)) {
            upload.close();
            Fixtures.assertProblem(() -> storage.resumeUpload(RepositoryName.of("other"), upload.id()), Problem.BLOB_UPLOAD_UNKNOWN);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "..", ".", "../../../etc", "a/b", "a\\b", "%2e%2e", ".hidden", "-x", "x y"})
    void malformedUploadIdsAreUnknown(String id) {
        Fixtures.assertProblem(() -> storage.resumeUpload(REPO, id), Problem.BLOB_UPLOAD_UNKNOWN);
        assertThat(root.resolve("docker")).doesNotExist();
    }

    @Test
    void writePastTheLimitIsRefusedBeforeAnyByteLands() {
        try (Upload upload = storage.startUpload(REPO)) {
            upload.write(buffers(utf8("12345")), 8);

            Fixtures.assertProblem(() -> upload.write(buffers(utf8("6789")), 8), Problem.SIZE_INVALID);
            assertThat(upload.size()).isEqualTo(5);
            upload.write(buffers(utf8("678")), 8);
            upload.commit(sha256(utf8("12345678")));
        }
    }

    @Test
    void commitAfterCloseIsAProgrammingError() {
        Upload upload = storage.startUpload(REPO);
        upload.close();

        assertThatThrownBy(() -> upload.commit(sha256(new byte[0]))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void closeAndCancelAreIdempotent() {
        Upload upload = storage.startUpload(REPO);
        upload.cancel();
        upload.cancel();
        upload.close();

        // The permit was released once only: a new upload works and the old id is unknown.
        Fixtures.assertProblem(() -> storage.resumeUpload(REPO, upload.id()), Problem.BLOB_UPLOAD_UNKNOWN);
        try (Upload next = storage.startUpload(REPO)) {
            assertThat(next.id()).isNotEqualTo(upload.id());
        }
    }

    @Test
    void sameContentInTwoRepositoriesIsStoredOnceAndLinkedTwice() {
        RepositoryName other = RepositoryName.of("other/app");
        Digest a = Fixtures.pushBlob(storage, REPO, utf8("shared"));
        Digest b = Fixtures.pushBlob(storage, other, utf8("shared"));

        assertThat(a).isEqualTo(b);
        assertThat(storage.blobSize(REPO, a)).isEqualTo(6);
        assertThat(storage.blobSize(other, a)).isEqualTo(6);
        assertThat(blobData(root, a)).isRegularFile();
    }

    @Test
    void writeThroughAClosedHandleDoesNotCorruptTheNextHolder() {
        Upload stale = storage.startUpload(REPO);
        stale.write(buffers(utf8("abc")), Long.MAX_VALUE);
        stale.close();

        try (Upload current = storage.resumeUpload(REPO, stale.id())) {
            assertThatThrownBy(() -> stale.write(buffers(utf8("junk")), Long.MAX_VALUE)).isInstanceOf(RuntimeException.class);
            current.write(buffers(utf8("def")), Long.MAX_VALUE);

            assertThat(current.size()).isEqualTo(6);
            assertThat(current.commit(sha256(utf8("abcdef")))).isEqualTo(6);
        }
    }

}
