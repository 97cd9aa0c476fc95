package io.berth.storage.s3;

import static io.berth.storage.s3.S3Fixtures.OCI_MANIFEST;
import static io.berth.storage.s3.S3Fixtures.immutable;
import static io.berth.storage.s3.S3Fixtures.pushArtifact;
import static io.berth.storage.s3.S3Fixtures.pushImage;
import static io.berth.storage.s3.S3Fixtures.pushIndex;
import static io.berth.storage.s3.S3Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.storage.Descriptor;
import io.berth.storage.Digest;
import io.berth.storage.Problem;
import io.berth.storage.Reference;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import io.berth.storage.Tag;
import io.berth.storage.TagGuard;
import io.berth.testing.S3TestServer;
import java.nio.file.Path;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Manifests, tags, referrers and deletes on the bucket: the filesystem storage's key behaviours, on versitygw. */
class S3ManifestsTest {
    @TempDir
    static Path work;
    static S3TestServer s3;
    static final RepositoryName REPO = RepositoryName.of("team/app");
    static final Tag V1 = Tag.of("v1");
    static final Tag LATEST = Tag.of("latest");

    S3Storage storage;

    @BeforeAll
    static void start() {
        s3 = S3TestServer.start(work, "bucket");
    }

    @AfterAll
    static void stop() {
        s3.close();
    }

    @BeforeEach
    void open() {
        storage = S3Fixtures.replica(s3, S3Fixtures.freshRoot());
    }

    @AfterEach
    void close() {
        storage.close();
    }

    static void assertProblem(ThrowingCallable call, Problem problem) {
        assertThatThrownBy(call).isInstanceOf(StorageException.class)
                .extracting(e -> ((StorageException) e).problem()).isEqualTo(problem);
    }

    @Test
    void aPushedManifestIsServedByTagAndDigestWithRegistry2sKeys() {
        S3Fixtures.Pushed image = pushImage(storage, REPO, "a", V1, LATEST);
        assertThat(storage.getManifest(REPO, new Reference.ByTag(V1)).content()).isEqualTo(image.content());
        assertThat(storage.getManifest(REPO, new Reference.ByDigest(image.digest())).mediaType()).isEqualTo(OCI_MANIFEST);
        assertThat(storage.tags(REPO, null, 100)).containsExactly(LATEST, V1);
        assertThat(storage.tags(REPO, "latest", 100)).containsExactly(V1);
        assertThat(storage.tagsOf(REPO, image.digest())).containsExactly(LATEST, V1);
        ObjectStore store = storage.store();
        assertThat(S3Blobs.readLink(store, "repositories/team/app/_manifests/tags/v1/current/link")).isEqualTo(image.digest());
        assertThat(S3Blobs.readLink(store, "repositories/team/app/_manifests/tags/v1/index/sha256/" + image.digest().hex() + "/link"))
                .isEqualTo(image.digest());
        assertThat(S3Blobs.readLink(store, "repositories/team/app/_manifests/revisions/sha256/" + image.digest().hex() + "/link"))
                .isEqualTo(image.digest());
        assertThat(store.stat("blobs/sha256/" + image.digest().hex().substring(0, 2) + "/" + image.digest().hex() + "/data")).isNotNull();
    }

    @Test
    void unknownTagsDigestsAndRepositoriesAreUnknown() {
        pushImage(storage, REPO, "a", V1);
        assertProblem(() -> storage.getManifest(REPO, new Reference.ByTag(LATEST)), Problem.MANIFEST_UNKNOWN);
        assertProblem(() -> storage.getManifest(REPO, new Reference.ByDigest(Digest.sha256(utf8("x")))), Problem.MANIFEST_UNKNOWN);
        assertProblem(() -> storage.tags(RepositoryName.of("nothing/here"), null, 10), Problem.NAME_UNKNOWN);
        assertProblem(() -> storage.deleteManifest(REPO, new Reference.ByTag(LATEST)), Problem.MANIFEST_UNKNOWN);
    }

    @Test
    void aManifestWhoseBlobsAreNotInTheRepositoryIsRefused() {
        byte[] content = S3Fixtures.imageManifest(storage, RepositoryName.of("other"), "b", null, null);
        assertProblem(() -> storage.putManifest(REPO, content, OCI_MANIFEST, null, List.of(V1)), Problem.MANIFEST_BLOB_UNKNOWN);
        assertProblem(() -> storage.getManifest(REPO, new Reference.ByTag(V1)), Problem.MANIFEST_UNKNOWN);
    }

    @Test
    void aWrongDigestIsRefused() {
        byte[] content = S3Fixtures.imageManifest(storage, REPO, "c", null, null);
        assertProblem(() -> storage.putManifest(REPO, content, OCI_MANIFEST, Digest.sha256(utf8("other")), List.of()), Problem.DIGEST_INVALID);
    }

    @Test
    void aProtectedTagCannotMoveOrBeDeletedButTakesItsOwnDigestAgain() {
        TagGuard guard = immutable("v1");
        S3Fixtures.Pushed first = pushArtifact(storage, REPO, "a", null, null, guard, V1);
        assertProblem(() -> pushArtifact(storage, REPO, "b", null, null, guard, V1), Problem.DENIED);
        storage.putManifest(REPO, first.content(), OCI_MANIFEST, null, List.of(V1), guard);
        assertProblem(() -> storage.deleteManifest(REPO, new Reference.ByTag(V1), guard), Problem.DENIED);
        assertProblem(() -> storage.deleteManifest(REPO, new Reference.ByDigest(first.digest()), guard), Problem.DENIED);
        assertProblem(() -> storage.deleteBlob(REPO, first.blobs().get(1), guard), Problem.DENIED);
        assertThat(storage.tagTarget(REPO, V1)).isEqualTo(first.digest());
    }

    @Test
    void aRefusedTagLeavesEveryTagOfThePushUnwritten() {
        TagGuard guard = immutable("v1");
        pushArtifact(storage, REPO, "a", null, null, guard, V1);
        assertProblem(() -> pushArtifact(storage, REPO, "b", null, null, guard, LATEST, V1), Problem.DENIED);
        assertThat(storage.tagTarget(REPO, LATEST)).isNull();
        assertThat(storage.tags(REPO, null, 10)).containsExactly(V1);
    }

    @Test
    void nothingAProtectedIndexReachesCanBeDeletedButWhatMutableTagsReachCan() {
        TagGuard guard = immutable("v1");
        S3Fixtures.Pushed amd = pushImage(storage, REPO, "amd64");
        S3Fixtures.Pushed arm = pushImage(storage, REPO, "arm64");
        S3Fixtures.Pushed index = pushIndex(storage, REPO, List.of(amd, arm), V1);
        assertProblem(() -> storage.deleteManifest(REPO, new Reference.ByDigest(arm.digest()), guard), Problem.DENIED);
        assertProblem(() -> storage.deleteBlob(REPO, amd.blobs().get(0), guard), Problem.DENIED);
        S3Fixtures.Pushed loose = pushImage(storage, REPO, "loose", LATEST);
        storage.deleteBlob(REPO, loose.blobs().get(1), guard);
        storage.deleteManifest(REPO, new Reference.ByDigest(loose.digest()), guard);
        assertThat(storage.tagTarget(REPO, LATEST)).isNull();
        assertThat(storage.tagTarget(REPO, V1)).isEqualTo(index.digest());
        storage.deleteManifest(REPO, new Reference.ByDigest(arm.digest()), TagGuard.NONE);
        assertProblem(() -> storage.getManifest(REPO, new Reference.ByDigest(arm.digest())), Problem.MANIFEST_UNKNOWN);
    }

    @Test
    void deletingAManifestDeletesItsTagsAndItsReferrerEntry() {
        S3Fixtures.Pushed image = pushImage(storage, REPO, "a", V1);
        S3Fixtures.Pushed sig = pushArtifact(storage, REPO, "sig", image, "application/vnd.dev.cosign", TagGuard.NONE, LATEST);
        assertThat(storage.referrers(REPO, image.digest(), null)).extracting(Descriptor::digest).containsExactly(sig.digest());
        storage.deleteManifest(REPO, new Reference.ByDigest(sig.digest()));
        assertThat(storage.tagTarget(REPO, LATEST)).isNull();
        assertThat(storage.referrers(REPO, image.digest(), null)).isEmpty();
        assertThat(storage.store().stat(S3Layout.referrerLink(REPO, image.digest(), sig.digest()))).isNull();
        storage.deleteManifest(REPO, new Reference.ByTag(V1));
        assertThat(storage.tags(REPO, null, 10)).isEmpty();
        assertThat(storage.getManifest(REPO, new Reference.ByDigest(image.digest())).digest()).isEqualTo(image.digest());
    }

    @Test
    void referrersAreFilteredByArtifactType() {
        S3Fixtures.Pushed image = pushImage(storage, REPO, "a", V1);
        S3Fixtures.Pushed sbom = pushArtifact(storage, REPO, "sbom", image, "application/spdx+json", TagGuard.NONE);
        S3Fixtures.Pushed sig = pushArtifact(storage, REPO, "sig", image, "application/vnd.dev.cosign", TagGuard.NONE);
        assertThat(storage.referrers(REPO, image.digest(), null)).extracting(Descriptor::digest)
                .containsExactlyInAnyOrder(sbom.digest(), sig.digest());
        List<Descriptor> sboms = storage.referrers(REPO, image.digest(), "application/spdx+json");
        assertThat(sboms).extracting(Descriptor::digest).containsExactly(sbom.digest());
        assertThat(sboms.get(0).size()).isEqualTo(sbom.content().length);
        assertThat(sboms.get(0).artifactType()).isEqualTo("application/spdx+json");
    }

    @Test
    void referrersThatRegistry2WroteWithoutAnIndexAreFoundAndIndexed() {
        S3Fixtures.Pushed image = pushImage(storage, REPO, "a", V1);
        // registry:2 writes the blob and the revision link, and keeps no referrers index.
        byte[] content = S3Fixtures.imageManifest(storage, REPO, "sig", image, "application/vnd.dev.cosign");
        Digest d = Digest.sha256(content);
        storage.blobs().putContent(d, content);
        storage.store().put(S3Layout.revisionLink(REPO, d), utf8(d.toString()));
        try (S3Storage fresh = S3Fixtures.replica(s3, storage.store().settings().rootDirectory())) {
            fresh.readOnly(true);
            assertThat(fresh.referrers(REPO, image.digest(), null)).extracting(Descriptor::digest).containsExactly(d);
            assertThat(fresh.store().stat(S3Layout.referrerLink(REPO, image.digest(), d))).as("read-only writes nothing").isNull();
        }
        try (S3Storage fresh = S3Fixtures.replica(s3, storage.store().settings().rootDirectory())) {
            assertThat(fresh.referrers(REPO, image.digest(), null)).extracting(Descriptor::digest).containsExactly(d);
            assertThat(fresh.store().stat(S3Layout.referrerLink(REPO, image.digest(), d))).isNotNull();
        }
    }

    @Test
    void aBlobDeleteUnlinksItFromTheRepositoryOnly() {
        S3Fixtures.Pushed image = pushImage(storage, REPO, "a");
        Digest layer = image.blobs().get(1);
        storage.mountBlob(RepositoryName.of("other"), REPO, layer);
        storage.deleteBlob(REPO, layer);
        assertProblem(() -> storage.blobSize(REPO, layer), Problem.BLOB_UNKNOWN);
        assertThat(storage.blobSize(RepositoryName.of("other"), layer)).isPositive();
        assertProblem(() -> storage.deleteBlob(REPO, layer), Problem.BLOB_UNKNOWN);
    }

    @Test
    void everyChangeMovesTheGeneration() {
        long g0 = storage.generation(REPO);
        S3Fixtures.Pushed image = pushImage(storage, REPO, "a", V1);
        long g1 = storage.generation(REPO);
        assertThat(g1).isNotEqualTo(g0);
        assertThat(storage.generation(REPO)).isEqualTo(g1);
        storage.deleteManifest(REPO, new Reference.ByTag(V1));
        long g2 = storage.generation(REPO);
        assertThat(g2).isNotEqualTo(g1);
        storage.deleteBlob(REPO, image.blobs().get(0));
        assertThat(storage.generation(REPO)).isNotEqualTo(g2);
    }
}
