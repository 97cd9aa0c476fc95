package io.berth.storage;

import static io.berth.storage.Fixtures.blobData;
import static io.berth.storage.Fixtures.pushBlob;
import static io.berth.storage.Fixtures.pushImage;
import static io.berth.storage.Fixtures.repoDir;
import static io.berth.storage.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The files Berth writes are exactly registry:2's, and files registry:2 wrote are read back. */
class OnDiskLayoutTest extends StorageTestBase {

    @Test
    void blobDataLivesUnderBlobsAlgorithmTwoHexCharsAndHex() throws IOException {
        byte[] content = utf8("hello layout");
        Digest d = pushBlob(storage, REPO, content);

        Path expected = root.resolve("docker/registry/v2/blobs/sha256/" + d.hex().substring(0, 2) + "/" + d.hex() + "/data");
        assertThat(expected).isRegularFile();
        assertThat(Files.readAllBytes(expected)).isEqualTo(content);
    }

    @Test
    void layerLinkHoldsTheDigestWithoutNewline() throws IOException {
        Digest d = pushBlob(storage, REPO, utf8("linked"));

        Path link = root.resolve("docker/registry/v2/repositories/team/app/_layers/sha256/" + d.hex() + "/link");
        assertThat(Files.readAllBytes(link)).isEqualTo(("sha256:" + d.hex()).getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void manifestPutWritesRevisionAndTagLinksAsRegistry2Does() throws IOException {
        Fixtures.Pushed image = pushImage(storage, REPO, "one", Tag.of("latest"));
        String hex = image.digest().hex();
        Path manifests = root.resolve("docker/registry/v2/repositories/team/app/_manifests");
        byte[] link = ("sha256:" + hex).getBytes(StandardCharsets.US_ASCII);

        assertThat(Files.readAllBytes(manifests.resolve("revisions/sha256/" + hex + "/link"))).isEqualTo(link);
        assertThat(Files.readAllBytes(manifests.resolve("tags/latest/current/link"))).isEqualTo(link);
        assertThat(Files.readAllBytes(manifests.resolve("tags/latest/index/sha256/" + hex + "/link"))).isEqualTo(link);
        assertThat(Files.readAllBytes(blobData(root, image.digest()))).isEqualTo(image.content());
    }

    @Test
    void retaggingKeepsTheOldDigestInTheTagIndex() throws IOException {
        Fixtures.Pushed first = pushImage(storage, REPO, "first", Tag.of("latest"));
        Fixtures.Pushed second = pushImage(storage, REPO, "second", Tag.of("latest"));
        Path tag = repoDir(root, REPO).resolve("_manifests/tags/latest");

        assertThat(Fixtures.read(tag.resolve("current/link"))).isEqualTo(second.digest().toString());
        assertThat(tag.resolve("index/sha256/" + first.digest().hex() + "/link")).isRegularFile();
        assertThat(tag.resolve("index/sha256/" + second.digest().hex() + "/link")).isRegularFile();
    }

    @Test
    void uploadInProgressHasDataAndStartedAtInItsOwnDirectory() throws IOException {
        Instant start = Instant.parse("2024-05-01T10:00:00Z");
        RegistryStorage clocked = RegistryStorage.open(root, new Fixtures.MutableClock(start), 1 << 20);
        try (Upload upload = clocked.startUpload(REPO)) {
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(utf8("part"))}, Long.MAX_VALUE);
            Path dir = root.resolve("docker/registry/v2/repositories/team/app/_uploads/" + upload.id());

            assertThat(Files.readAllBytes(dir.resolve("data"))).isEqualTo(utf8("part"));
            assertThat(Instant.parse(Fixtures.read(dir.resolve("startedat")).strip())).isEqualTo(start);
        }
    }

    @Test
    void referrerIndexIsHiddenUnderAnUnderscoreDirectory() {
        Fixtures.Pushed subject = pushImage(storage, REPO, "subject");
        Fixtures.Pushed sig = Fixtures.pushArtifact(storage, REPO, "sig", subject, "application/x-sig");

        Path link = repoDir(root, REPO).resolve("_berth/referrers/sha256/" + subject.digest().hex() + "/sha256/"
                + sig.digest().hex() + "/link");
        assertThat(Fixtures.read(link)).isEqualTo(sig.digest().toString());
    }

    @Test
    void readsARepositoryWrittenByRegistry2() throws IOException {
        // Lay out a repository by hand, byte for byte as registry:2 writes it.
        byte[] config = utf8("{}");
        byte[] layer = utf8("registry2 layer");
        Digest c = Fixtures.writeRegistry2Blob(root, config);
        Digest l = Fixtures.writeRegistry2Blob(root, layer);
        byte[] manifest = Fixtures.bytes(Fixtures.imageJson(
                Fixtures.descriptor(Fixtures.CONFIG_TYPE, c, config.length),
                Fixtures.descriptor(Fixtures.LAYER_TYPE, l, layer.length)));
        Digest m = Fixtures.writeRegistry2Blob(root, manifest);
        Path repo = root.resolve("docker/registry/v2/repositories/legacy/app");
        Fixtures.writeRegistry2Link(repo.resolve("_layers/sha256/" + c.hex() + "/link"), c);
        Fixtures.writeRegistry2Link(repo.resolve("_layers/sha256/" + l.hex() + "/link"), l);
        Fixtures.writeRegistry2Link(repo.resolve("_manifests/revisions/sha256/" + m.hex() + "/link"), m);
        Fixtures.writeRegistry2Link(repo.resolve("_manifests/tags/v1/current/link"), m);
        Fixtures.writeRegistry2Link(repo.resolve("_manifests/tags/v1/index/sha256/" + m.hex() + "/link"), m);
        RepositoryName legacy = RepositoryName.of("legacy/app");

        RegistryStorage fresh = RegistryStorage.open(root);

        assertThat(fresh.getManifest(legacy, Reference.parse("v1")).content()).isEqualTo(manifest);
        assertThat(fresh.getManifest(legacy, Reference.parse("v1")).mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
        assertThat(fresh.blobSize(legacy, l)).isEqualTo(layer.length);
        assertThat(fresh.tags(legacy, null, 10)).containsExactly(Tag.of("v1"));
        assertThat(fresh.catalog(null, 10)).contains(legacy);
    }

    @Test
    void resumesAnUploadStartedByRegistry2() throws IOException {
        // registry:2 leaves data, startedat and hashstates/ in the upload directory.
        Path dir = root.resolve("docker/registry/v2/repositories/team/app/_uploads/0c5e5f16-3a4c-4bd8-a0a9-3f1d7e7a3b1e");
        Files.createDirectories(dir.resolve("hashstates/sha256"));
        Files.write(dir.resolve("data"), utf8("from registry2 "));
        Files.writeString(dir.resolve("startedat"), "2024-05-01T10:00:00Z");
        Files.write(dir.resolve("hashstates/sha256/15"), new byte[] {1, 2, 3});

        try (Upload upload = storage.resumeUpload(REPO, "0c5e5f16-3a4c-4bd8-a0a9-3f1d7e7a3b1e")) {
            assertThat(upload.size()).isEqualTo(15);
            upload.write(Fixtures.buffers(utf8("and Berth")), Long.MAX_VALUE);
            upload.commit(Fixtures.sha256(utf8("from registry2 and Berth")));
        }
        assertThat(storage.blobSize(REPO, Fixtures.sha256(utf8("from registry2 and Berth")))).isEqualTo(24);
        assertThat(dir).doesNotExist();
    }

    @Test
    void toleratesALinkFileWithATrailingNewline() throws IOException {
        Fixtures.Pushed image = pushImage(storage, REPO, "nl", Tag.of("nl"));
        Path current = repoDir(root, REPO).resolve("_manifests/tags/nl/current/link");
        Files.writeString(current, image.digest() + "\n");

        RegistryStorage fresh = RegistryStorage.open(root);

        assertThat(fresh.getManifest(REPO, Reference.parse("nl")).digest()).isEqualTo(image.digest());
    }

    @Test
    void nothingIsWrittenForABlobUntilItIsCommitted() {
        try (Upload upload = storage.startUpload(REPO)) {
            upload.write(Fixtures.buffers(utf8("pending")), Long.MAX_VALUE);
        }

        assertThat(root.resolve("docker/registry/v2/blobs")).doesNotExist();
        assertThat(repoDir(root, REPO).resolve("_layers")).doesNotExist();
        assertThat(storage.catalog(null, 10)).isEmpty();
        assertThat(List.of(root.resolve("docker/registry/v2").toFile().list())).containsExactly("repositories");
    }
}
