package io.berth.storage;

import static io.berth.storage.Fixtures.pushArtifact;
import static io.berth.storage.Fixtures.pushImage;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReferrersTest {
    private static final RepositoryName REPO = RepositoryName.of("team/app");
    private static final String SIG = "application/vnd.example.signature";
    private static final String SBOM = "application/spdx+json";

    @TempDir
    Path root;

    private RegistryStorage storage;
    private Fixtures.Pushed subject;

    @BeforeEach
    void open() {
        storage = RegistryStorage.open(root);
        subject = pushImage(storage, REPO, "subject", Tag.of("latest"));
    }

    @Test
    void listsEveryManifestWhoseSubjectIsTheDigestSortedByDigest() {
        Fixtures.Pushed sig = pushArtifact(storage, REPO, "sig", subject, SIG);
        Fixtures.Pushed sbom = pushArtifact(storage, REPO, "sbom", subject, SBOM);

        List<Descriptor> found = storage.referrers(REPO, subject.digest(), null);

        assertThat(found).extracting(Descriptor::digest)
                .containsExactlyElementsOf(java.util.stream.Stream.of(sig.digest(), sbom.digest())
                        .sorted(java.util.Comparator.comparing(Digest::toString)).toList());
        Descriptor d = found.stream().filter(x -> x.digest().equals(sig.digest())).findFirst().orElseThrow();
        assertThat(d.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
        assertThat(d.size()).isEqualTo(sig.content().length);
        assertThat(d.artifactType()).isEqualTo(SIG);
    }

    @Test
    void filtersByArtifactType() {
        Fixtures.Pushed sig = pushArtifact(storage, REPO, "sig", subject, SIG);
        pushArtifact(storage, REPO, "sbom", subject, SBOM);

        assertThat(storage.referrers(REPO, subject.digest(), SIG)).extracting(Descriptor::digest).containsExactly(sig.digest());
        assertThat(storage.referrers(REPO, subject.digest(), "application/none")).isEmpty();
    }

    @Test
    void artifactTypeFallsBackToTheConfigMediaType() {
        Fixtures.Pushed plain = pushArtifact(storage, REPO, "plain", subject, null);

        Descriptor d = storage.referrers(REPO, subject.digest(), null).getFirst();

        assertThat(d.digest()).isEqualTo(plain.digest());
        assertThat(d.artifactType()).isEqualTo(Fixtures.CONFIG_TYPE);
        assertThat(storage.referrers(REPO, subject.digest(), Fixtures.CONFIG_TYPE)).hasSize(1);
    }

    @Test
    void annotationsAreReported() {
        ObjectNode json = Fixtures.imageJson(
                Fixtures.descriptor(Fixtures.CONFIG_TYPE, subject.blobs().get(0), storage.blobSize(REPO, subject.blobs().get(0))),
                Fixtures.descriptor(Fixtures.LAYER_TYPE, subject.blobs().get(1), storage.blobSize(REPO, subject.blobs().get(1))));
        json.set("subject", subject.descriptor());
        json.putObject("annotations").put("org.opencontainers.image.created", "2024-01-01T00:00:00Z");
        StoredManifest m = storage.putManifest(REPO, Fixtures.bytes(json), null, null, List.of());

        Descriptor d = storage.referrers(REPO, subject.digest(), null).getFirst();

        assertThat(d.digest()).isEqualTo(m.digest());
        assertThat(d.annotations()).containsEntry("org.opencontainers.image.created", "2024-01-01T00:00:00Z");
    }

    @Test
    void indexCanBeAReferrerWithItsOwnArtifactType() {
        Fixtures.Pushed child = pushImage(storage, REPO, "child");
        ObjectNode index = Fixtures.indexJson(child.descriptor());
        index.put("artifactType", SBOM);
        index.set("subject", subject.descriptor());
        StoredManifest m = storage.putManifest(REPO, Fixtures.bytes(index), null, null, List.of());

        Descriptor d = storage.referrers(REPO, subject.digest(), SBOM).getFirst();

        assertThat(d.digest()).isEqualTo(m.digest());
        assertThat(d.mediaType()).isEqualTo(MediaTypes.OCI_INDEX);
    }

    @Test
    void deletedReferrerDisappears() {
        Fixtures.Pushed sig = pushArtifact(storage, REPO, "sig", subject, SIG);
        Fixtures.Pushed sbom = pushArtifact(storage, REPO, "sbom", subject, SBOM);

        storage.deleteManifest(REPO, sig.reference());

        assertThat(storage.referrers(REPO, subject.digest(), null)).extracting(Descriptor::digest).containsExactly(sbom.digest());
    }

    @Test
    void untaggingAReferrerKeepsIt() {
        Fixtures.Pushed sig = pushArtifact(storage, REPO, "sig", subject, SIG, Tag.of("sig"));

        storage.deleteManifest(REPO, Reference.parse("sig"));

        assertThat(storage.referrers(REPO, subject.digest(), null)).extracting(Descriptor::digest).containsExactly(sig.digest());
    }

    @Test
    void referrersAreScopedToTheRepository() {
        RepositoryName other = RepositoryName.of("other");
        pushImage(storage, other, "subject");
        pushArtifact(storage, REPO, "sig", subject, SIG);

        assertThat(storage.referrers(other, subject.digest(), null)).isEmpty();
    }

    @Test
    void unknownSubjectHasNoReferrers() {
        assertThat(storage.referrers(REPO, Fixtures.sha256(Fixtures.utf8("nothing")), null)).isEmpty();
        assertThat(storage.referrers(RepositoryName.of("nowhere"), subject.digest(), null)).isEmpty();
    }

    @Test
    void referrersSurviveARestart() {
        Fixtures.Pushed sig = pushArtifact(storage, REPO, "sig", subject, SIG);

        List<Descriptor> found = RegistryStorage.open(root).referrers(REPO, subject.digest(), SIG);

        assertThat(found).extracting(Descriptor::digest).containsExactly(sig.digest());
    }
}
