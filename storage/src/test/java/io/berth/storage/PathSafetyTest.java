package io.berth.storage;

import static io.berth.storage.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
        assertThatThrownBy(() -> storage.startUpload(RepositoryName.of(name))).isInstanceOf(StorageException.class);

        assertOnlyRootAndSentinelOutside();
        assertThat(root.resolve("docker")).doesNotExist();
    }

    @ParameterizedTest
    @ValueSource(strings = {"..", "../../..", "../../../../sentinel", "x/../../..", "..%2F..", "/tmp/x"})
    void maliciousUploadIdsNeverReachTheDisk(String id) {
        RepositoryName repo = RepositoryName.of("repo");

        assertThatThrownBy(() -> storage.resumeUpload(repo, id))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.BLOB_UPLOAD_UNKNOWN));

        assertOnlyRootAndSentinelOutside();
        assertThat(Files.exists(sandbox.resolve("sentinel"))).isTrue();
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
        RegistryStorage s = RegistryStorage.open(sandbox.resolve("x/../root2"));

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

    private void assertOnlyRootAndSentinelOutside() {
        try (Stream<Path> files = Files.list(sandbox)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("root", "sentinel");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertThat(Fixtures.read(sandbox.resolve("sentinel"))).isEqualTo("outside");
    }
}
