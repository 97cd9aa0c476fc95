package io.berth.storage;

import static io.berth.storage.Fixtures.buffers;
import static io.berth.storage.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stale uploads are purged by the injected clock's time, never by sleeping. */
class UploadPurgeTest {
    private static final RepositoryName REPO = RepositoryName.of("team/app");
    private static final Duration WEEK = Duration.ofDays(7);

    @TempDir
    Path root;

    private Fixtures.MutableClock clock;
    private RegistryStorage storage;

    @BeforeEach
    void open() {
        clock = new Fixtures.MutableClock(Instant.parse("2024-01-01T00:00:00Z"));
        storage = RegistryStorage.open(root, clock, 1 << 20);
        Fixtures.pushImage(storage, REPO, "existing", Tag.of("latest"));
    }

    @Test
    void uploadOlderThanTheAgeIsPurged() {
        String id = abandonedUpload(REPO);
        clock.advance(WEEK.plusSeconds(1));

        assertThat(storage.purgeUploads(WEEK)).isEqualTo(1);

        assertUnknown(REPO, id);
        assertThat(Fixtures.repoDir(root, REPO).resolve("_uploads/" + id)).doesNotExist();
    }

    @Test
    void uploadYoungerThanTheAgeIsKept() {
        String id = abandonedUpload(REPO);
        clock.advance(WEEK.minusSeconds(1));

        assertThat(storage.purgeUploads(WEEK)).isZero();

        try (Upload upload = storage.resumeUpload(REPO, id)) {
            assertThat(upload.size()).isEqualTo(7);
        }
    }

    @Test
    void onlyTheStaleOfSeveralUploadsArePurged() {
        String old = abandonedUpload(REPO);
        clock.advance(Duration.ofDays(5));
        String young = abandonedUpload(REPO);
        clock.advance(Duration.ofDays(3));

        assertThat(storage.purgeUploads(WEEK)).isEqualTo(1);

        assertUnknown(REPO, old);
        storage.resumeUpload(REPO, young).close();
    }

    @Test
    void uploadHeldByARequestIsNotPurged() {
        try (Upload held = storage.startUpload(REPO)) {
            held.write(buffers(utf8("writing")), Long.MAX_VALUE);
            clock.advance(WEEK.multipliedBy(2));

            assertThat(storage.purgeUploads(WEEK)).isZero();

            held.write(buffers(utf8("!")), Long.MAX_VALUE);
            held.commit(Fixtures.sha256(utf8("writing!")));
        }
    }

    @Test
    void purgesUploadsInEveryRepository() {
        RepositoryName other = RepositoryName.of("other/app");
        Fixtures.pushImage(storage, other, "other", Tag.of("latest"));
        String a = abandonedUpload(REPO);
        String b = abandonedUpload(other);
        clock.advance(WEEK.plusDays(1));

        assertThat(storage.purgeUploads(WEEK)).isEqualTo(2);

        assertUnknown(REPO, a);
        assertUnknown(other, b);
    }

    @Test
    void purgedCountIsZeroWhenThereIsNothingToPurge() {
        clock.advance(WEEK.multipliedBy(10));

        assertThat(storage.purgeUploads(WEEK)).isZero();
    }

    @Test
    void strayFileInTheUploadsDirectoryDoesNotStopPurging() throws Exception {
        String id = abandonedUpload(REPO);
        java.nio.file.Files.writeString(Fixtures.repoDir(root, REPO).resolve("_uploads/stray"), "not an upload");
        clock.advance(WEEK.plusDays(1));

        storage.purgeUploads(WEEK);

        assertUnknown(REPO, id);
    }

    @Test
    void uploadInARepositoryWithLayersButNoManifestIsPurged() {
        RepositoryName layersOnly = RepositoryName.of("layers/only");
        Fixtures.pushBlob(storage, layersOnly, utf8("committed layer"));
        String id = abandonedUpload(layersOnly);
        clock.advance(WEEK.plusDays(1));

        assertThat(storage.purgeUploads(WEEK)).isEqualTo(1);

        assertUnknown(layersOnly, id);
    }

    @Test
    void uploadInARepositoryWithNothingCommittedYetIsPurged() {
        RepositoryName fresh = RepositoryName.of("brand/new");
        String id = abandonedUpload(fresh);
        clock.advance(WEEK.plusDays(1));

        assertThat(storage.purgeUploads(WEEK)).isEqualTo(1);

        assertUnknown(fresh, id);
    }

    private String abandonedUpload(RepositoryName repo) {
        try (Upload upload = storage.startUpload(repo)) {
            upload.write(buffers(utf8("partial")), Long.MAX_VALUE);
            return upload.id();
        }
    }

    private void assertUnknown(RepositoryName repo, String id) {
        assertThatThrownBy(() -> storage.resumeUpload(repo, id))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.BLOB_UPLOAD_UNKNOWN));
    }
}
