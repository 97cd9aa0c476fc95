package io.berth.storage;

import static io.berth.storage.Fixtures.CONFIG_TYPE;
import static io.berth.storage.Fixtures.LAYER_TYPE;
import static io.berth.storage.Fixtures.bytes;
import static io.berth.storage.Fixtures.descriptor;
import static io.berth.storage.Fixtures.imageJson;
import static io.berth.storage.Fixtures.indexJson;
import static io.berth.storage.Fixtures.pushBlob;
import static io.berth.storage.Fixtures.pushDescriptor;
import static io.berth.storage.Fixtures.pushImage;
import static io.berth.storage.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestPutGetTest extends StorageTestBase {
    @Test
    void aCachedManifestIsStoredAndTaggedBeforeItsBlobsAndAWrongDigestIsRefused() {
        byte[] manifest = bytes(imageJson(descriptor(CONFIG_TYPE, Digest.sha256(utf8("absent config")), 13),
                descriptor(LAYER_TYPE, Digest.sha256(utf8("absent layer")), 12)));
        assertThatThrownBy(() -> storage.putManifest(REPO, manifest, null, null, List.of(Tag.of("v1"))))
                .as("a push needs the blobs").isInstanceOfSatisfying(StorageException.class,
                        e -> assertThat(e.problem()).isEqualTo(Problem.MANIFEST_BLOB_UNKNOWN));

        StoredManifest cached = storage.cacheManifest(REPO, manifest, null, Digest.sha256(manifest), List.of(Tag.of("v1")));

        assertThat(storage.getManifest(REPO, Reference.parse("v1")).content()).isEqualTo(manifest);
        assertThat(storage.tagTarget(REPO, Tag.of("v1"))).isEqualTo(cached.digest());
        assertThatThrownBy(() -> storage.cacheManifest(REPO, manifest, null, Digest.sha256(utf8("other")), List.of()))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.DIGEST_INVALID));
    }

    private ObjectNode config;
    private ObjectNode layer;

    @BeforeEach
    void open() {
        config = pushDescriptor(storage, REPO, CONFIG_TYPE, "{\"architecture\":\"amd64\"}");
        layer = pushDescriptor(storage, REPO, LAYER_TYPE, "layer bytes");
    }

    @Test
    void putByTagThenGetByTagAndByDigestReturnsTheSameBytes() {
        byte[] content = bytes(imageJson(config, layer));

        StoredManifest put = storage.putManifest(REPO, content, MediaTypes.OCI_MANIFEST, null, List.of(Tag.of("latest")));

        assertThat(put.digest()).isEqualTo(Fixtures.sha256(content));
        assertThat(put.subject()).isNull();
        StoredManifest byTag = storage.getManifest(REPO, Reference.parse("latest"));
        StoredManifest byDigest = storage.getManifest(REPO, new Reference.ByDigest(put.digest()));
        assertThat(byTag.content()).isEqualTo(content);
        assertThat(byTag.digest()).isEqualTo(put.digest());
        assertThat(byTag.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
        assertThat(byDigest.content()).isEqualTo(content);
        assertThat(storage.tags(REPO, null, 10)).containsExactly(Tag.of("latest"));
    }

    @Test
    void bytesAreStoredUntouchedIncludingWhitespace() {
        String pretty = "{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"" + MediaTypes.OCI_MANIFEST + "\",\n  \"config\": "
                + config + ",\n  \"layers\": [ " + layer + " ]\n}\n";
        byte[] content = utf8(pretty);

        StoredManifest put = storage.putManifest(REPO, content, null, null, List.of());

        assertThat(put.digest()).isEqualTo(Fixtures.sha256(content));
        assertThat(RegistryStorage.open(root).getManifest(REPO, new Reference.ByDigest(put.digest())).content()).isEqualTo(content);
    }

    @Test
    void putByMatchingDigestStoresWithoutTags() {
        byte[] content = bytes(imageJson(config, layer));
        Digest d = Fixtures.sha256(content);

        storage.putManifest(REPO, content, MediaTypes.OCI_MANIFEST, d, List.of());

        assertThat(storage.getManifest(REPO, new Reference.ByDigest(d)).content()).isEqualTo(content);
        // As registry:2: a repository that never had a tag is unknown to tag listing.
        Fixtures.assertProblem(() -> storage.tags(REPO, null, 10), Problem.NAME_UNKNOWN);
    }

    @Test
    void putByMismatchedDigestIsRefusedAndStoresNothing() {
        byte[] content = bytes(imageJson(config, layer));
        Digest other = Fixtures.sha256(utf8("other"));

        Fixtures.assertProblem(() -> storage.putManifest(REPO, content, MediaTypes.OCI_MANIFEST, other, List.of(Tag.of("t"))),
                Problem.DIGEST_INVALID);

        Fixtures.assertProblem(() -> storage.getManifest(REPO, new Reference.ByDigest(Fixtures.sha256(content))), Problem.MANIFEST_UNKNOWN);
        Fixtures.assertProblem(() -> storage.getManifest(REPO, Reference.parse("t")), Problem.MANIFEST_UNKNOWN);
    }

    @Test
    void putBySha512DigestIsStoredUnderSha512() {
        byte[] content = bytes(imageJson(config, layer));
        Digest d = Fixtures.sha512(content);

        StoredManifest put = storage.putManifest(REPO, content, MediaTypes.OCI_MANIFEST, d, List.of(Tag.of("v512")));

        assertThat(put.digest()).isEqualTo(d);
        assertThat(storage.getManifest(REPO, new Reference.ByDigest(d)).content()).isEqualTo(content);
        assertThat(storage.getManifest(REPO, Reference.parse("v512")).digest()).isEqualTo(d);
        assertThat(Fixtures.repoDir(root, REPO).resolve("_manifests/revisions/sha512/" + d.hex() + "/link")).isRegularFile();
    }

    @Test
    void retaggingMovesTheTag() {
        Fixtures.Pushed first = pushImage(storage, REPO, "1", Tag.of("latest"));
        Fixtures.Pushed second = pushImage(storage, REPO, "2", Tag.of("latest"));

        assertThat(storage.getManifest(REPO, Reference.parse("latest")).digest()).isEqualTo(second.digest());
        assertThat(storage.getManifest(REPO, first.reference()).digest()).isEqualTo(first.digest());
    }

    @Test
    void missingLayerIsManifestBlobUnknown() {
        ObjectNode missing = descriptor(LAYER_TYPE, Fixtures.sha256(utf8("never pushed")), 12);

        Fixtures.assertProblem(() -> storage.putManifest(REPO, bytes(imageJson(config, layer, missing)), null, null, List.of(Tag.of("x"))),
                Problem.MANIFEST_BLOB_UNKNOWN);
        assertThat(Fixtures.repoDir(root, REPO).resolve("_manifests/tags/x")).doesNotExist();
    }

    @Test
    void missingConfigIsManifestBlobUnknown() {
        ObjectNode missing = descriptor(CONFIG_TYPE, Fixtures.sha256(utf8("no config")), 9);

        Fixtures.assertProblem(() -> storage.putManifest(REPO, bytes(imageJson(missing, layer)), null, null, List.of()),
                Problem.MANIFEST_BLOB_UNKNOWN);
    }

    @Test
    void blobOnlyInAnotherRepositoryIsManifestBlobUnknown() {
        RepositoryName other = RepositoryName.of("other");

        Fixtures.assertProblem(() -> storage.putManifest(other, bytes(imageJson(config, layer)), null, null, List.of()),
                Problem.MANIFEST_BLOB_UNKNOWN);
    }

    @Test
    void foreignLayerWithUrlsNeedNotBeStored() {
        ObjectNode foreign = descriptor("application/vnd.docker.image.rootfs.foreign.diff.tar", Fixtures.sha256(utf8("windows")), 7);
        foreign.putArray("urls").add("https://example.com/layer");

        StoredManifest m = storage.putManifest(REPO, bytes(imageJson(config, layer, foreign)), null, null, List.of());

        assertThat(storage.getManifest(REPO, new Reference.ByDigest(m.digest())).digest()).isEqualTo(m.digest());
    }

    @Test
    void indexWithAMissingChildIsManifestBlobUnknown() {
        Fixtures.Pushed child = pushImage(storage, REPO, "child");
        ObjectNode missing = descriptor(MediaTypes.OCI_MANIFEST, Fixtures.sha256(utf8("no such manifest")), 16);

        Fixtures.assertProblem(() -> storage.putManifest(REPO, bytes(indexJson(child.descriptor(), missing)), null, null, List.of()),
                Problem.MANIFEST_BLOB_UNKNOWN);
    }

    @Test
    void indexWhoseChildIsOnlyInAnotherRepositoryIsManifestBlobUnknown() {
        Fixtures.Pushed child = pushImage(storage, REPO, "child");

        Fixtures.assertProblem(() -> storage.putManifest(RepositoryName.of("other"), bytes(indexJson(child.descriptor())), null, null, List.of()),
                Problem.MANIFEST_BLOB_UNKNOWN);
    }

    @Test
    void indexOverStoredChildrenIsAccepted() {
        Fixtures.Pushed a = pushImage(storage, REPO, "a");
        Fixtures.Pushed b = pushImage(storage, REPO, "b");

        Fixtures.Pushed index = Fixtures.pushIndex(storage, REPO, List.of(a, b), Tag.of("multi"));

        StoredManifest got = storage.getManifest(REPO, Reference.parse("multi"));
        assertThat(got.digest()).isEqualTo(index.digest());
        assertThat(got.mediaType()).isEqualTo(MediaTypes.OCI_INDEX);
    }

    @Test
    void missingSubjectIsAccepted() {
        ObjectNode json = imageJson(config, layer);
        Digest absent = Fixtures.sha256(utf8("subject not pushed"));
        json.set("subject", descriptor(MediaTypes.OCI_MANIFEST, absent, 123));

        StoredManifest m = storage.putManifest(REPO, bytes(json), MediaTypes.OCI_MANIFEST, null, List.of());

        assertThat(m.subject()).isEqualTo(absent);
        assertThat(storage.getManifest(REPO, new Reference.ByDigest(m.digest())).subject()).isEqualTo(absent);
        assertThat(storage.referrers(REPO, absent, null)).extracting(Descriptor::digest).containsExactly(m.digest());
    }

    @Test
    void dockerManifestListIsAnIndex() {
        Fixtures.Pushed a = pushImage(storage, REPO, "a");
        ObjectNode list = indexJson(a.descriptor());
        list.put("mediaType", MediaTypes.DOCKER_MANIFEST_LIST);

        StoredManifest m = storage.putManifest(REPO, bytes(list), MediaTypes.DOCKER_MANIFEST_LIST, null, List.of());

        assertThat(m.mediaType()).isEqualTo(MediaTypes.DOCKER_MANIFEST_LIST);
    }

    @Test
    void unknownTagAndUnknownDigestAreManifestUnknown() {
        Fixtures.assertProblem(() -> storage.getManifest(REPO, Reference.parse("nope")), Problem.MANIFEST_UNKNOWN);
        Fixtures.assertProblem(() -> storage.getManifest(REPO, new Reference.ByDigest(Fixtures.sha256(utf8("nope")))), Problem.MANIFEST_UNKNOWN);
        Fixtures.assertProblem(() -> storage.getManifest(RepositoryName.of("nowhere"), Reference.parse("latest")), Problem.MANIFEST_UNKNOWN);
    }

    @Test
    void manifestOfOneRepositoryIsUnknownInAnother() {
        Fixtures.Pushed image = pushImage(storage, REPO, "mine");

        Fixtures.assertProblem(() -> storage.getManifest(RepositoryName.of("other"), image.reference()), Problem.MANIFEST_UNKNOWN);
    }

    @Test
    void servedMediaTypeIsTheSameBeforeAndAfterARestart() {
        ObjectNode json = imageJson(config, layer);
        json.remove("mediaType");
        StoredManifest put = storage.putManifest(REPO, bytes(json), MediaTypes.OCI_MANIFEST, null, List.of(Tag.of("d")));

        String before = storage.getManifest(REPO, Reference.parse("d")).mediaType();
        String after = RegistryStorage.open(root).getManifest(REPO, Reference.parse("d")).mediaType();

        assertThat(put.mediaType()).isEqualTo(before);
        assertThat(after).isEqualTo(before);
    }

}
