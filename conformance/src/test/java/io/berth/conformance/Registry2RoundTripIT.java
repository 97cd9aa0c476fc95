package io.berth.conformance;

import static io.berth.conformance.RoundTripContent.V2;
import static io.berth.conformance.RoundTripContent.assertSameContent;
import static io.berth.conformance.RoundTripContent.blobPath;
import static io.berth.conformance.RoundTripContent.crane;
import static io.berth.conformance.RoundTripContent.craneDigest;
import static io.berth.conformance.RoundTripContent.pushGarbage;
import static io.berth.conformance.RoundTripContent.pushImage;
import static io.berth.conformance.RoundTripContent.pushMultiArch;
import static io.berth.conformance.RoundTripContent.pushReferrer;
import static io.berth.conformance.RoundTripContent.read;
import static io.berth.conformance.RoundTripContent.referencedBlobs;
import static io.berth.conformance.RoundTripContent.storedBlobs;
import static io.berth.conformance.RoundTripContent.tree;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.conformance.RoundTripContent.Garbage;
import io.berth.conformance.RoundTripContent.MultiArch;
import io.berth.conformance.RoundTripContent.Snapshot;
import io.berth.server.Berth;
import io.berth.server.cli.BerthCommand;
import io.berth.testing.RegistryClient;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One volume, two registries: Debian's docker-registry 2.8.2 (registry:2) and Berth take turns
 * serving, writing and garbage-collecting the same storage root, and each must serve what the other
 * wrote, byte for byte. registry:2 is driven with crane, raw HTTP and its own {@code garbage-collect}.
 */
class Registry2RoundTripIT {
    private static final String BLOB_ELIGIBLE = "blob eligible for deletion: ";
    private static final String MANIFEST_ELIGIBLE = "manifest eligible for deletion: ";

    @Test
    void registry2WritesBerthServes(@TempDir Path work) {
        Path volume = work.resolve("volume");
        TestImages.Layers l = new TestImages.Layers(work);
        Snapshot written;
        String v1;
        String referrer;
        try (Registry2 r2 = Registry2.serve(volume, work)) {
            String h = r2.hostAndPort();
            RegistryHttp http = new RegistryHttp(h);
            v1 = pushImage(h + "/rt/app:v1", l.a, l.b);
            crane("tag", h + "/rt/app:v1", "stable");
            pushImage(h + "/rt/app:v2", l.c);
            pushImage(h + "/rt/base:1", l.a);
            MultiArch multi = pushMultiArch(h, h + "/rt/base:1", "rt/multi", "latest", l.amd64, l.arm64);
            // registry:2 2.8 stores an OCI manifest with a subject (201), but has no referrers API.
            referrer = pushReferrer(http, "rt/app", v1, "sbom of v1, pushed to registry:2");
            assertThat(http.referrers("rt/app", v1).status()).isEqualTo(404);
            written = read(http, List.of("rt/app@" + referrer));
            assertThat(written.catalog()).containsExactly("rt/app", "rt/base", "rt/multi");
            assertThat(written.tags().get("rt/app")).containsExactly("stable", "v1", "v2");
            assertThat(written.manifests()).containsKeys("rt/multi@" + multi.children().get(0), "rt/multi@" + multi.children().get(1));
        }

        SoftAssertions softly = new SoftAssertions();
        Snapshot afterBerth;
        String v3;
        String referrer3;
        List<String> untagged = new ArrayList<>(List.of("rt/app@" + referrer));
        try (Berth berth = berth(volume)) {
            String h = berth.hostAndPort();
            RegistryHttp http = new RegistryHttp(h);
            assertSameContent(read(http, untagged), written, "Berth serving registry:2's volume");
            RoundTripContent.cranePullEverything(h, written, work.resolve("pulled-from-berth"));

            v3 = craneDigest("append", "-b", h + "/rt/app:v1", "-f", l.d.toString(), "-t", h + "/rt/app:v3");
            MultiArch next = pushMultiArch(h, h + "/rt/app:v3", "rt/multi", "next", l.amd64b, l.arm64b);
            referrer3 = pushReferrer(http, "rt/app", v3, "sbom of v3, pushed to Berth");
            untagged.add("rt/app@" + referrer3);
            afterBerth = read(http, untagged);
            assertThat(afterBerth.tags().get("rt/app")).containsExactly("stable", "v1", "v2", "v3");
            assertThat(afterBerth.tags().get("rt/multi")).containsExactly("latest", "next");
            assertThat(afterBerth.manifests()).containsKey("rt/multi@" + next.children().get(1));
            crane("pull", "--format", "oci", h + "/rt/multi:next", work.resolve("next").toString());
            assertThat(referrerDigests(http, "rt/app", v3)).containsExactly(referrer3);
            // A manifest with a subject that registry:2 stored must show up in Berth's referrers API too.
            softly.assertThat(referrerDigests(http, "rt/app", v1))
                    .as("Berth's referrers of rt/app@%s, whose referrer %s registry:2 stored", v1, referrer)
                    .containsExactly(referrer);
        }

        String referrer3b;
        try (Registry2 r2 = Registry2.serve(volume, work)) {
            RegistryHttp http = new RegistryHttp(r2.hostAndPort());
            assertSameContent(read(http, untagged), afterBerth, "registry:2 serving Berth's additions");
            crane("pull", "--format", "oci", r2.hostAndPort() + "/rt/multi:next", work.resolve("next-r2").toString());
            referrer3b = pushReferrer(http, "rt/app", v3, "second sbom of v3, pushed to registry:2");
        }
        // The volume goes back to Berth a second time: what registry:2 added since must be indexed too.
        try (Berth berth = berth(volume)) {
            softly.assertThat(referrerDigests(new RegistryHttp(berth.hostAndPort()), "rt/app", v3))
                    .as("Berth's referrers of rt/app@%s after registry:2 added %s on the second hand-over", v3, referrer3b)
                    .containsExactlyInAnyOrder(referrer3, referrer3b);
        }
        softly.assertAll();
    }

    @Test
    void berthWritesRegistry2ServesAndCollects(@TempDir Path work) {
        Path volume = work.resolve("volume");
        TestImages.Layers l = new TestImages.Layers(work);
        Snapshot written;
        App app;
        Garbage garbage;
        try (Berth berth = berth(volume)) {
            String h = berth.hostAndPort();
            RegistryHttp http = new RegistryHttp(h);
            app = pushApp(http, h, l, "sbom of v1, pushed to Berth", l.a, l.b, l.c);
            garbage = pushGarbage(http, h, "rt/app", l.doomed);
            written = read(http, List.of("rt/app@" + app.referrer()));
            assertThat(written.tags().get("rt/app")).containsExactly("multi", "v1");
            assertThat(written.manifests()).containsKeys("rt/app@" + app.multi().children().get(0), "rt/app@" + app.multi().children().get(1));
        }
        SortedMap<String, String> before = tree(volume);
        SortedSet<String> unreferenced = minus(storedBlobs(volume), written.liveDigests());
        assertThat(unreferenced).as("blobs on Berth's volume that no manifest references").isEqualTo(garbage.blobs());

        Path config = Registry2.writeConfig(work, volume, 5000);
        Proc.Result dryRun = Registry2.garbageCollect(config, "--dry-run");
        assertThat(tree(volume)).as("the volume after a dry run").isEqualTo(before);
        assertThat(Registry2.reported(dryRun, BLOB_ELIGIBLE)).containsExactlyElementsOf(garbage.blobs());
        assertThat(Registry2.reported(dryRun, MANIFEST_ELIGIBLE)).isEmpty();

        Proc.Result gc = Registry2.garbageCollect(config);
        assertThat(Registry2.reported(gc, BLOB_ELIGIBLE)).containsExactlyElementsOf(garbage.blobs());
        SortedMap<String, String> expected = new TreeMap<>(before);
        garbage.blobs().forEach(d -> expected.remove(blobPath(d)));
        assertThat(tree(volume)).as("the volume after registry:2's garbage-collect").isEqualTo(expected);

        try (Registry2 r2 = Registry2.serve(volume, work)) {
            RegistryHttp http = new RegistryHttp(r2.hostAndPort());
            assertSameContent(read(http, List.of("rt/app@" + app.referrer())), written, "registry:2 serving Berth's volume");
            RoundTripContent.cranePullEverything(r2.hostAndPort(), written, work.resolve("pulled-from-registry2"));
            assertThat(http.manifest("rt/app", garbage.manifest()).status()).isEqualTo(404);
        }
    }

    @Test
    void berthGarbageCollectKeepsIndexChildrenWhereRegistry2WouldNot(@TempDir Path work) {
        Path volume = work.resolve("volume");
        TestImages.Layers l = new TestImages.Layers(work);
        Snapshot live;
        App app;
        String untagged;
        Garbage garbage;
        SortedSet<String> untaggedBlobs = new TreeSet<>();
        try (Berth berth = berth(volume)) {
            String h = berth.hostAndPort();
            RegistryHttp http = new RegistryHttp(h);
            app = pushApp(http, h, l, "sbom of v1, pushed to Berth", l.a, l.b);
            untagged = RoundTripContent.pushUntagged(h, h + "/rt/app:v1", "rt/app");
            untaggedBlobs.add(untagged);
            untaggedBlobs.addAll(referencedBlobs(http.requireManifest("rt/app", untagged).json()));
            garbage = pushGarbage(http, h, "rt/app", l.doomed);
            live = read(http, List.of("rt/app@" + app.referrer()));
        }
        Path copy = work.resolve("volume-for-registry2");
        RoundTripContent.copyTree(volume, copy);
        SortedSet<String> before = storedBlobs(volume);
        SortedSet<String> unreachable = minus(before, live.liveDigests());
        assertThat(unreachable).containsAll(garbage.blobs()).contains(untagged);

        StringWriter out = new StringWriter();
        int exit = new BerthCommand(new PrintWriter(out), new PrintWriter(out)).execute("garbage-collect", "--delete-untagged", "--grace-period=0s", Registry2.writeConfig(work, volume, 5000).toString());
        assertThat(exit).as("berth garbage-collect --delete-untagged:%n%s", out).isZero();
        SortedSet<String> after = storedBlobs(volume);
        assertThat(after).as("blobs kept by berth garbage-collect --delete-untagged").isEqualTo(minus(before, unreachable));
        assertThat(minus(before, after)).containsAll(garbage.blobs()).containsAll(minus(untaggedBlobs, live.liveDigests()));
        for (String child : app.multi().children()) {
            assertThat(volume.resolve(revisionLink("rt/app", child))).hasContent(child);
        }
        assertThat(volume.resolve(revisionLink("rt/app", app.referrer()))).hasContent(app.referrer());
        assertThat(volume.resolve(revisionLink("rt/app", untagged))).doesNotExist();

        try (Registry2 r2 = Registry2.serve(volume, work)) {
            RegistryHttp http = new RegistryHttp(r2.hostAndPort());
            assertSameContent(read(http, List.of("rt/app@" + app.referrer())), live, "registry:2 after berth garbage-collect");
            crane("pull", "--format", "oci", r2.hostAndPort() + "/rt/app:multi", work.resolve("multi").toString());
            assertThat(http.manifest("rt/app", untagged).status()).isEqualTo(404);
        }

        // registry:2 2.8.2's own --delete-untagged on the same content: it deletes the index's
        // children and the tagged image's referrer, and the layers only the children used.
        Proc.Result gc = Registry2.garbageCollect(Registry2.writeConfig(work, copy, 5000), "--delete-untagged");
        List<String> expectedDeleted = new ArrayList<>(app.multi().children());
        expectedDeleted.add(app.referrer());
        expectedDeleted.add(untagged);
        assertThat(Registry2.reported(gc, MANIFEST_ELIGIBLE)).containsExactlyInAnyOrderElementsOf(expectedDeleted);
        SortedSet<String> childOnly = new TreeSet<>();
        app.multi().children().forEach(c -> childOnly.addAll(referencedBlobs(manifestJson(live, "rt/app@" + c))));
        live.manifests().keySet().stream().filter(k -> !k.contains("@"))
                .forEach(tagRef -> childOnly.removeAll(referencedBlobs(manifestJson(live, tagRef))));
        assertThat(childOnly).isNotEmpty();
        assertThat(storedBlobs(copy)).as("blobs left by registry:2's --delete-untagged").doesNotContainAnyElementsOf(childOnly);
        try (Registry2 r2 = Registry2.serve(copy, work)) {
            RegistryHttp http = new RegistryHttp(r2.hostAndPort());
            assertThat(http.requireManifest("rt/app", "multi").digest()).isEqualTo(app.multi().index());
            for (String gone : expectedDeleted) {
                assertThat(http.manifest("rt/app", gone).status()).as("registry:2 GET rt/app@%s after its own GC", gone).isEqualTo(404);
            }
            Proc.Result pull = Proc.run(List.of(Peers.tool("CRANE"), "pull", "--insecure", "--format", "oci",
                    r2.hostAndPort() + "/rt/app:multi", work.resolve("multi-broken").toString()), Map.of(), Duration.ofMinutes(2));
            assertThat(pull.exitCode()).as("crane pull of the index after registry:2's GC:%n%s", pull.output()).isNotZero();
        }
    }

    @Test
    void berthWritesTheSameFilesAsRegistry2ForTheSameCranePushes(@TempDir Path work) {
        TestImages.Layers l = new TestImages.Layers(work);
        Path r2Volume = work.resolve("registry2-volume");
        Path berthVolume = work.resolve("berth-volume");
        Pushed byRegistry2;
        try (Registry2 r2 = Registry2.serve(r2Volume, work)) {
            byRegistry2 = pushSameContent(r2.hostAndPort(), l);
        }
        Pushed byBerth;
        try (Berth berth = berth(berthVolume)) {
            byBerth = pushSameContent(berth.hostAndPort(), l);
        }
        assertThat(byBerth).isEqualTo(byRegistry2);

        SortedMap<String, String> files = RoundTripContent.registry2Tree(berthVolume);
        String repo = V2 + "repositories/rt/app/";
        List<String> appBlobs = new ArrayList<>(referencedBlobs(byBerth.v1Manifest()));
        for (String blob : appBlobs) {
            assertThat(files).containsKey(blobPath(blob));
            assertThat(berthVolume.resolve(blobPath(blob))).satisfies(p -> assertThat(RegistryClient.sha256(Files.readAllBytes(p))).isEqualTo(blob));
            assertThat(files).containsEntry(repo + "_layers/" + hexPath(blob) + "/link", blob);
        }
        List<String> manifests = new ArrayList<>(byBerth.multi().children());
        manifests.addAll(List.of(byBerth.v1(), byBerth.multi().index(), byBerth.referrer()));
        for (String m : manifests) {
            assertThat(files).containsKey(blobPath(m)).containsEntry(revisionLink("rt/app", m), m);
        }
        for (String tag : List.of("v1", "latest")) {
            assertThat(files).containsEntry(repo + "_manifests/tags/" + tag + "/current/link", byBerth.v1())
                    .containsEntry(repo + "_manifests/tags/" + tag + "/index/" + hexPath(byBerth.v1()) + "/link", byBerth.v1());
        }
        assertThat(files).containsEntry(repo + "_manifests/tags/multi/current/link", byBerth.multi().index());
        files.forEach((path, content) -> {
            if (path.endsWith("/link")) {
                assertThat(content).as("link file %s", path).matches("sha256:[0-9a-f]{64}");
            }
        });
        assertThat(files).as("Berth's files (without _uploads and _berth) against registry:2's for the same pushes")
                .isEqualTo(RoundTripContent.registry2Tree(r2Volume));
    }

    @Test
    void registry2FindsEveryRepositoryBerthWroteAndItsGarbageCollectKeepsTheirManifests(@TempDir Path work) {
        TestImages.Layers l = new TestImages.Layers(work);
        Path r2Volume = work.resolve("registry2-volume");
        Path berthVolume = work.resolve("berth-volume");
        List<String> r2Catalog;
        try (Registry2 r2 = Registry2.serve(r2Volume, work)) {
            r2Catalog = deleteBlobsOfATaggedImageAndUploadAnUnusedBlob(r2.hostAndPort(), l);
        }
        List<String> berthCatalog;
        try (Berth berth = berth(berthVolume)) {
            berthCatalog = deleteBlobsOfATaggedImageAndUploadAnUnusedBlob(berth.hostAndPort(), l);
        }
        assertThat(r2Catalog).containsExactly("rt/blobs-only", "rt/solo");
        List<String> r2Eligible = Registry2.reported(Registry2.garbageCollect(Registry2.writeConfig(work, r2Volume, 5000), "--dry-run"), BLOB_ELIGIBLE);

        // registry:2 finds a repository by its _layers directory, which deleting blob links leaves in place.
        SoftAssertions softly = new SoftAssertions();
        softly.assertThat(berthCatalog).as("Berth's catalog after the same operations as registry:2").isEqualTo(r2Catalog);
        try (Registry2 r2 = Registry2.serve(berthVolume, work)) {
            softly.assertThat(new RegistryHttp(r2.hostAndPort()).catalog()).as("registry:2's catalog of Berth's volume").isEqualTo(r2Catalog);
        }
        List<String> berthEligible = Registry2.reported(Registry2.garbageCollect(Registry2.writeConfig(work, berthVolume, 5000), "--dry-run"), BLOB_ELIGIBLE);
        softly.assertThat(berthEligible).as("blobs registry:2's garbage-collect would delete from Berth's volume, where rt/solo:v1 is still tagged")
                .isEqualTo(r2Eligible);
        softly.assertAll();
    }

    /**
     * Pushes rt/solo:v1, then deletes its config and layer from the repository (the manifest and tag
     * stay), and uploads a blob to rt/blobs-only with no manifest. Returns the catalog.
     */
    private static List<String> deleteBlobsOfATaggedImageAndUploadAnUnusedBlob(String h, TestImages.Layers l) {
        RegistryHttp http = new RegistryHttp(h);
        String solo = pushImage(h + "/rt/solo:v1", l.a);
        for (String blob : referencedBlobs(http.requireManifest("rt/solo", solo).json())) {
            assertThat(http.deleteBlob("rt/solo", blob)).as("DELETE rt/solo blob %s on %s", blob, h).isEqualTo(202);
        }
        http.pushBlob("rt/blobs-only", "a blob no manifest references".getBytes(StandardCharsets.UTF_8));
        assertThat(http.requireManifest("rt/solo", "v1").digest()).isEqualTo(solo);
        return http.catalog();
    }

    /** The same crane and HTTP pushes, in the same order, to either registry. */
    private static Pushed pushSameContent(String h, TestImages.Layers l) {
        RegistryHttp http = new RegistryHttp(h);
        App app = pushApp(http, h, l, "sbom of v1", l.a, l.b);
        crane("tag", h + "/rt/app:v1", "latest");
        return new Pushed(app.v1(), http.requireManifest("rt/app", app.v1()).text(), app.multi(), app.referrer());
    }

    /** What {@link #pushApp} pushed: the image rt/app:v1, the index rt/app:multi and the referrer of v1. */
    private record App(String v1, MultiArch multi, String referrer) {}

    /**
     * Pushes rt/app:v1 of {@code appLayers}, rt/base:1 of layer a, the index rt/app:multi of two platform images
     * made from rt/base:1, and an SBOM of rt/app:v1 (with {@code sbom} as its content) that refers to it.
     */
    private static App pushApp(RegistryHttp http, String h, TestImages.Layers l, String sbom, Path... appLayers) {
        String v1 = pushImage(h + "/rt/app:v1", appLayers);
        pushImage(h + "/rt/base:1", l.a);
        MultiArch multi = pushMultiArch(h, h + "/rt/base:1", "rt/app", "multi", l.amd64, l.arm64);
        return new App(v1, multi, pushReferrer(http, "rt/app", v1, sbom));
    }

    private record Pushed(String v1, String v1Body, MultiArch multi, String referrer) {
        JsonNode v1Manifest() {
            return json(v1Body);
        }
    }

    private static Berth berth(Path volume) {
        Berth berth = Berth.builder().storageDirectory(volume).port(0).build();
        berth.start();
        return berth;
    }

    private static List<String> referrerDigests(RegistryHttp http, String repo, String subject) {
        RegistryHttp.Response f = http.referrers(repo, subject);
        assertThat(f.status()).as("GET referrers of %s@%s: %s", repo, subject, f.text()).isEqualTo(200);
        List<String> out = new ArrayList<>();
        f.json().path("manifests").forEach(m -> out.add(m.path("digest").asText()));
        return out;
    }

    private static JsonNode manifestJson(Snapshot s, String ref) {
        return json(s.manifests().get(ref).body());
    }

    private static JsonNode json(String body) {
        return RegistryHttp.json(body.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static String revisionLink(String repo, String digest) {
        return V2 + "repositories/" + repo + "/_manifests/revisions/" + hexPath(digest) + "/link";
    }

    private static String hexPath(String digest) {
        return "sha256/" + digest.substring("sha256:".length());
    }

    private static SortedSet<String> minus(SortedSet<String> a, Collection<String> b) {
        SortedSet<String> out = new TreeSet<>(a);
        out.removeAll(b);
        return out;
    }
}
