package io.berth.storage;

import static io.berth.storage.Fixtures.pushImage;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tag and catalog listings: registry:2's order and its n/last pagination. */
class ListingTest extends StorageTestBase {

    @Test
    void tagsAreListedInByteOrder() {
        pushImage(storage, REPO, "img", Tag.of("a1"), Tag.of("9"), Tag.of("a-1"), Tag.of("B"), Tag.of("10"), Tag.of("a"));

        assertThat(values(storage.tags(REPO, null, 100))).containsExactly("10", "9", "B", "a", "a-1", "a1");
    }

    @Test
    void tagsArePagedAfterLast() {
        pushImage(storage, REPO, "img", Tag.of("a"), Tag.of("b"), Tag.of("c"), Tag.of("d"), Tag.of("e"));

        assertThat(values(storage.tags(REPO, null, 2))).containsExactly("a", "b");
        assertThat(values(storage.tags(REPO, "b", 2))).containsExactly("c", "d");
        assertThat(values(storage.tags(REPO, "d", 2))).containsExactly("e");
        assertThat(values(storage.tags(REPO, "e", 2))).isEmpty();
        assertThat(values(storage.tags(REPO, "bb", 1))).as("last need not be a tag").containsExactly("c");
        assertThat(values(storage.tags(REPO, null, 0))).isEmpty();
    }

    @Test
    void tagsOfAnUnknownRepositoryAreNameUnknown() {
        assertThatThrownBy(() -> storage.tags(RepositoryName.of("nowhere"), null, 10))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.NAME_UNKNOWN));
    }

    @Test
    void strayEntriesInTheTagsDirectoryAreNotTags() throws Exception {
        pushImage(storage, REPO, "img", Tag.of("real"));
        Path tags = Fixtures.repoDir(root, REPO).resolve("_manifests/tags");
        Files.createDirectories(tags.resolve(".hidden"));
        Files.createDirectories(tags.resolve("not a tag"));
        Files.writeString(tags.resolve("file"), "x");

        assertThat(values(storage.tags(REPO, null, 10))).containsExactly("real");
    }

    @Test
    void contentCountsSeeEachBlobOnceAndEveryRepository() {
        assertThat(storage.countContent()).isEqualTo(new RegistryStorage.ContentCounts(0, 0));

        pushImage(storage, REPO, "one", Tag.of("v1"));
        pushImage(storage, RepositoryName.of("team/app/sub"), "two", Tag.of("v1"));
        pushImage(storage, RepositoryName.of("other"), "one", Tag.of("copy"));

        // each image is a config, a layer and its manifest; "one" pushed twice is stored once
        assertThat(storage.countContent()).isEqualTo(new RegistryStorage.ContentCounts(6, 3));
    }

    @Test
    void catalogOrdersNamesComponentWiseLikeRegistry2() {
        for (String name : List.of("b", "a-b", "a.b", "a/b", "a", "a/b/c", "a/b-c", "a_b")) {
            pushImage(storage, RepositoryName.of(name), name);
        }

        assertThat(values(storage.catalog(null, 100)))
                .containsExactly("a", "a/b", "a/b/c", "a/b-c", "a-b", "a.b", "a_b", "b");
    }

    @Test
    void catalogIsPagedAfterLastComponentWise() {
        for (String name : List.of("a", "a/b", "a-b", "a.b", "b")) {
            pushImage(storage, RepositoryName.of(name), name);
        }

        assertThat(values(storage.catalog(null, 2))).containsExactly("a", "a/b");
        assertThat(values(storage.catalog("a/b", 2))).containsExactly("a-b", "a.b");
        assertThat(values(storage.catalog("a.b", 2))).containsExactly("b");
        assertThat(values(storage.catalog("b", 2))).isEmpty();
        assertThat(values(storage.catalog("a", 1))).containsExactly("a/b");
        assertThat(values(storage.catalog(null, 0))).isEmpty();
    }

    @Test
    void catalogListsRepositoriesWithManifestsOrLayersLikeRegistry2() {
        pushImage(storage, RepositoryName.of("with/manifest"), "m");
        Fixtures.pushBlob(storage, RepositoryName.of("only/blobs"), Fixtures.utf8("blob"));
        try (Upload u = storage.startUpload(RepositoryName.of("only/upload"))) {
            u.write(Fixtures.buffers(Fixtures.utf8("x")), 10);
        }

        // registry:2 2.8 recognises a repository by _layers, distribution v3 by _manifests; an upload alone is neither.
        assertThat(values(storage.catalog(null, 100))).containsExactly("only/blobs", "with/manifest");
    }

    @Test
    void catalogSkipsDirectoriesThatAreNotValidNames() throws Exception {
        pushImage(storage, RepositoryName.of("good"), "g");
        Path repos = root.resolve("docker/registry/v2/repositories");
        Files.createDirectories(repos.resolve("Bad/_manifests"));
        Files.createDirectories(repos.resolve("_hidden/x/_manifests"));

        assertThat(values(storage.catalog(null, 100))).containsExactly("good");
    }

    @Test
    void nestedRepositoriesAreBothListed() {
        pushImage(storage, RepositoryName.of("a"), "parent");
        pushImage(storage, RepositoryName.of("a/b"), "child");

        assertThat(values(storage.catalog(null, 100))).containsExactly("a", "a/b");
    }

    @Test
    void emptyRegistryHasAnEmptyCatalog() {
        assertThat(storage.catalog(null, 100)).isEmpty();
    }

    private static List<String> values(List<?> items) {
        return items.stream().map(Object::toString).toList();
    }
}
