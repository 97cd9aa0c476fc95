package io.berth.storage.s3;

import static io.berth.storage.s3.S3Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.storage.RepositoryName;
import io.berth.testing.S3TestServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The catalog on the bucket: registry:2's repositories and order, pages after a name, without caching. */
class S3CatalogTest {
    @TempDir
    static Path work;
    static S3TestServer s3;

    @BeforeAll
    static void start() {
        s3 = S3TestServer.start(work, "bucket");
    }

    @AfterAll
    static void stop() {
        s3.close();
    }

    /** Writes one object under {@code marker} of {@code name}, as registry:2 would when it makes the repository. */
    static void repository(ObjectStore store, String name, String marker) {
        store.put("repositories/" + name + "/" + marker + "/sha256/" + "a".repeat(64) + "/link", utf8("sha256:" + "a".repeat(64)));
    }

    @Test
    void nestedRepositoriesAreListedInRegistry2sOrderAndPaged() {
        try (S3Storage storage = S3Fixtures.replica(s3, S3Fixtures.freshRoot())) {
            ObjectStore store = storage.store();
            List<String> names = List.of("ab", "a-b", "a", "a/b", "a/b/c", "ns/x", "ns/y", "z9/deep/er/repo", "a.b");
            for (String name : names) {
                repository(store, name, name.length() % 2 == 0 ? "_layers" : "_manifests/revisions");
            }
            // Not repositories: a namespace alone, an upload that never committed, Berth's own objects.
            store.put("repositories/onlyuploads/_uploads/x/startedat", utf8("now"));
            store.put("repositories/ns/_berth/lock", utf8("x"));
            List<String> expected = names.stream().map(RepositoryName::of).sorted().map(RepositoryName::value).toList();
            assertThat(expected).startsWith("a", "a/b", "a/b/c", "a-b", "a.b", "ab");

            assertThat(storage.catalog(null, 100)).extracting(RepositoryName::value).containsExactlyElementsOf(expected);
            List<String> paged = new ArrayList<>();
            String last = null;
            for (int page = 0; page < 10; page++) {
                List<RepositoryName> got = storage.catalog(last, 2);
                if (got.isEmpty()) {
                    break;
                }
                assertThat(got).hasSizeLessThanOrEqualTo(2);
                got.forEach(r -> paged.add(r.value()));
                last = got.get(got.size() - 1).value();
            }
            assertThat(paged).containsExactlyElementsOf(expected);
            assertThat(storage.catalog("a/b", 3)).extracting(RepositoryName::value).containsExactly("a/b/c", "a-b", "a.b");
            assertThat(storage.catalog("ns", 100)).extracting(RepositoryName::value).containsExactly("ns/x", "ns/y", "z9/deep/er/repo");
            assertThat(storage.catalog(null, 100, r -> r.value().startsWith("ns/"))).extracting(RepositoryName::value)
                    .containsExactly("ns/x", "ns/y");
            assertThat(storage.countContent().repositories()).isEqualTo(names.size());
        }
    }

    @Test
    void aRepositoryCreatedThroughAnotherReplicaIsListedAtOnce() {
        String root = S3Fixtures.freshRoot();
        try (S3Storage a = S3Fixtures.replica(s3, root); S3Storage b = S3Fixtures.replica(s3, root)) {
            assertThat(b.catalog(null, 10)).isEmpty();
            S3Fixtures.pushImage(a, RepositoryName.of("team/new"), "x");
            assertThat(b.catalog(null, 10)).containsExactly(RepositoryName.of("team/new"));
            assertThat(b.countContent()).isEqualTo(new io.berth.storage.RegistryStorage.ContentCounts(3, 1));
        }
    }

    @Test
    void manyRepositoriesAreListedWithTheirListingsInParallel() {
        try (S3Storage storage = S3Fixtures.replica(s3, S3Fixtures.freshRoot())) {
            List<String> names = Stream.iterate(0, i -> i + 1).limit(120).map(i -> "org" + (i % 3) + "/repo-" + i).toList();
            names.parallelStream().forEach(n -> repository(storage.store(), n, "_manifests"));
            List<RepositoryName> all = storage.catalog(null, 1000);
            assertThat(all).hasSize(120).isSorted();
            assertThat(storage.catalog(all.get(59).value(), 1000)).containsExactlyElementsOf(all.subList(60, 120));
        }
    }
}
