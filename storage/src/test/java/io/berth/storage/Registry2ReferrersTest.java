package io.berth.storage;

import static io.berth.storage.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Referrers that registry:2 wrote into the volume (it keeps no referrers index) are found by Berth. */
class Registry2ReferrersTest {
    private static final RepositoryName REPO = RepositoryName.of("shared/app");

    @TempDir
    Path root;

    private Fixtures.Pushed subject;

    @BeforeEach
    void pushSubjectWithBerth() {
        subject = Fixtures.pushImage(RegistryStorage.open(root), REPO, "subject", Tag.of("latest"));
    }

    @Test
    void referrerWrittenByRegistry2BeforeBerthEverListedIsFound() throws IOException {
        Digest sig = writeRegistry2Referrer("sig", "application/x-sig");

        List<Descriptor> found = RegistryStorage.open(root).referrers(REPO, subject.digest(), null);

        assertThat(found).extracting(Descriptor::digest).containsExactly(sig);
        assertThat(found.getFirst().artifactType()).isEqualTo("application/x-sig");
    }

    @Test
    void inReadOnlyModeAReferrerRegistry2WroteIsFoundWithoutWritingAnything() throws IOException {
        Digest sig = writeRegistry2Referrer("read-only sig", "application/x-sig");
        java.nio.file.Path berthDir = Fixtures.v2(root).resolve("repositories").resolve(REPO.value()).resolve("_berth");
        org.assertj.core.api.Assertions.assertThat(berthDir.resolve("referrers")).doesNotExist();
        RegistryStorage storage = RegistryStorage.open(root);
        storage.readOnly(true);

        List<Descriptor> found = storage.referrers(REPO, subject.digest(), null);

        assertThat(found).extracting(Descriptor::digest).containsExactly(sig);
        assertThat(berthDir.resolve("referrers")).as("a GET wrote nothing").doesNotExist();
    }

    @Test
    void indexingOnceDoesNotDuplicateBerthsOwnReferrers() {
        RegistryStorage storage = RegistryStorage.open(root);
        Fixtures.Pushed own = Fixtures.pushArtifact(storage, REPO, "own", subject, "application/x-own");

        assertThat(storage.referrers(REPO, subject.digest(), null)).extracting(Descriptor::digest).containsExactly(own.digest());
        assertThat(RegistryStorage.open(root).referrers(REPO, subject.digest(), null)).hasSize(1);
    }

    @Test
    void referrerWrittenByRegistry2AfterBerthListedIsFoundAfterARestart() throws IOException {
        assertThat(RegistryStorage.open(root).referrers(REPO, subject.digest(), null)).isEmpty();
        // The volume goes back to registry:2, which pushes a signature, then returns to Berth.
        Digest sig = writeRegistry2Referrer("late sig", "application/x-sig");

        List<Descriptor> found = RegistryStorage.open(root).referrers(REPO, subject.digest(), null);

        assertThat(found).extracting(Descriptor::digest).containsExactly(sig);
    }

    /** Writes blobs, manifest and links exactly as registry:2 does: no referrers index. */
    private Digest writeRegistry2Referrer(String seed, String artifactType) throws IOException {
        byte[] config = utf8("{\"r2\":\"" + seed + "\"}");
        byte[] layer = utf8("r2 layer " + seed);
        Digest c = Fixtures.writeRegistry2Blob(root, config);
        Digest l = Fixtures.writeRegistry2Blob(root, layer);
        ObjectNode json = Fixtures.imageJson(Fixtures.descriptor(Fixtures.CONFIG_TYPE, c, config.length),
                Fixtures.descriptor(Fixtures.LAYER_TYPE, l, layer.length));
        json.put("artifactType", artifactType);
        json.set("subject", subject.descriptor());
        byte[] manifest = Fixtures.bytes(json);
        Digest m = Fixtures.writeRegistry2Blob(root, manifest);
        Path repo = Fixtures.repoDir(root, REPO);
        Fixtures.writeRegistry2Link(repo.resolve("_layers/sha256/" + c.hex() + "/link"), c);
        Fixtures.writeRegistry2Link(repo.resolve("_layers/sha256/" + l.hex() + "/link"), l);
        Fixtures.writeRegistry2Link(repo.resolve("_manifests/revisions/sha256/" + m.hex() + "/link"), m);
        return m;
    }
}
