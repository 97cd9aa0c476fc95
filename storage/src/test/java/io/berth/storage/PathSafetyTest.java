package io.berth.storage;

import static io.berth.storage.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Whatever a client sends, every file Berth creates is under its root directory. */
class PathSafetyTest {
    @TempDir
    Path sandbox;

    private Path root;
    private RegistryStorage storage;

    @BeforeEach
    void open() throws IOException {
        root = sandbox.resolve("root");
        storage = RegistryStorage.open(root);
        Files.writeString(sandbox.resolve("sentinel"), "outside");
    }

    @Test
    void aFullLifecycleWritesOnlyUnderTheRoot() {
        RepositoryName repo = RepositoryName.of("a/b/c");
        Fixtures.Pushed child = Fixtures.pushImage(storage, repo, "child", Tag.of("v1"));
        Fixtures.Pushed index = Fixtures.pushIndex(storage, repo, List.of(child), Tag.of("latest"));
        Fixtures.pushArtifact(storage, repo, "sig", index, "application/x-sig");
        try (Upload u = storage.startUpload(repo)) {
            u.write(Fixtures.buffers(utf8("pending")), 100);
        }
        storage.mountBlob(RepositoryName.of("mounted"), repo, child.blobs().get(0));
        storage.deleteManifest(repo, Reference.parse("v1"));
        storage.collectGarbage(false, true);
        storage.purgeUploads(Duration.ZERO);

        assertOnlyRootAndSentinelOutside();
    }

    @ParameterizedTest
    @ValueSource(strings = {"..", "../escape", "a/../../escape", "/etc", "a//b", "%2e%2e/escape", "a%2F..%2F..", "A"})
    void maliciousRepositoryNamesNeverReachTheDisk(String name) {
        Set<Path> before = tree();

        // Every storage operation takes a RepositoryName: refusing to make one is what keeps the name off the disk.
        assertThatThrownBy(() -> RepositoryName.of(name))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.NAME_INVALID));

        assertThat(tree()).isEqualTo(before);
    }

    /**
     * Each id leads, joined unchecked under the repository's {@code _uploads}, to a decoy upload outside the root: so
     * without the id check, resuming would take hold of the decoy and a cancel would delete it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"../../../../../../../escape", "./../../../../../../../escape", "..%2F..", "ABSOLUTE"})
    void maliciousUploadIdsNeverReachTheDisk(String given) throws IOException {
        RepositoryName repo = RepositoryName.of("repo");
        storage.startUpload(repo).close(); // the directories the path climbs out of exist
        Path decoy = Files.createDirectories(sandbox.resolve("escape"));
        Files.writeString(decoy.resolve("data"), "decoy");
        String id = given.equals("ABSOLUTE") ? decoy.toString() : given;
        Path uploads = root.resolve("docker/registry/v2/repositories/repo/_uploads");
        if (!given.contains("%")) {
            assertThat(uploads.resolve(id).normalize()).isEqualTo(decoy);
        }
        Set<Path> before = tree();

        assertThatThrownBy(() -> storage.resumeUpload(repo, id))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.BLOB_UPLOAD_UNKNOWN));
        assertThatThrownBy(() -> storage.uploadProgress(repo, id))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.BLOB_UPLOAD_UNKNOWN));

        assertThat(tree()).isEqualTo(before);
        assertThat(Fixtures.read(decoy.resolve("data"))).isEqualTo("decoy");
    }

    @Test
    void maliciousPaginationMarkersAreJustStrings() {
        Fixtures.pushImage(storage, RepositoryName.of("repo"), "img", Tag.of("t"));

        assertThat(storage.catalog("../../..", 10)).extracting(RepositoryName::value).containsExactly("repo");
        assertThat(storage.tags(RepositoryName.of("repo"), "../..", 10)).containsExactly(Tag.of("t"));
        assertOnlyRootAndSentinelOutside();
    }

    @Test
    void relativeRootIsMadeAbsoluteAndNormalised() {
        FileStorage s = RegistryStorage.open(sandbox.resolve("x/../root2"));

        assertThat(s.root()).isEqualTo(sandbox.resolve("root2").toAbsolutePath());
        assertThat(s.root().isAbsolute()).isTrue();
    }

    @Test
    void healthCheckLeavesNoProbeBehind() throws IOException {
        storage.checkHealth();

        try (Stream<Path> files = Files.list(root)) {
            assertThat(files).isEmpty();
        }
    }

    /** Every path under the sandbox, root and all, so that a write anywhere in it shows. */
    private Set<Path> tree() {
        try (Stream<Path> all = Files.walk(sandbox)) {
            return all.collect(Collectors.toSet());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void assertOnlyRootAndSentinelOutside() {
        try (Stream<Path> files = Files.list(sandbox)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("root", "sentinel");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertThat(Fixtures.read(sandbox.resolve("sentinel"))).isEqualTo("outside");
    }
}
