package io.berth.storage;

import static io.berth.storage.Fixtures.buffers;
import static io.berth.storage.Fixtures.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConcurrentCommitTest {
    private static final int THREADS = 8;

    @TempDir
    Path root;

    @RepeatedTest(5)
    void concurrentCommitsOfTheSameBlobAllSucceed() throws Exception {
        RegistryStorage storage = RegistryStorage.open(root);
        byte[] content = new byte[256 * 1024];
        new java.util.Random(42).nextBytes(content);
        Digest digest = sha256(content);
        CyclicBarrier barrier = new CyclicBarrier(THREADS);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<Long>> results = new ArrayList<>();
            for (int i = 0; i < THREADS; i++) {
                RepositoryName repo = RepositoryName.of(i % 2 == 0 ? "same" : "repo" + i);
                results.add(pool.submit(() -> {
                    try (Upload upload = storage.startUpload(repo)) {
                        upload.write(buffers(content), Long.MAX_VALUE);
                        barrier.await(10, TimeUnit.SECONDS);
                        return upload.commit(digest);
                    }
                }));
            }
            for (Future<Long> f : results) {
                assertThat(f.get(30, TimeUnit.SECONDS)).isEqualTo(content.length);
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(Files.readAllBytes(Fixtures.blobData(root, digest))).isEqualTo(content);
        assertThat(storage.blobSize(RepositoryName.of("same"), digest)).isEqualTo(content.length);
        assertThat(storage.blobSize(RepositoryName.of("repo7"), digest)).isEqualTo(content.length);
        assertThat(leftovers()).as("temp files and upload directories left behind").isEmpty();
    }

    @Test
    void concurrentPutsOfTheSameManifestAllSucceed() throws Exception {
        RegistryStorage storage = RegistryStorage.open(root);
        RepositoryName repo = RepositoryName.of("same");
        Fixtures.Pushed image = Fixtures.pushImage(storage, repo, "seed");
        CyclicBarrier barrier = new CyclicBarrier(THREADS);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<StoredManifest>> results = new ArrayList<>();
            for (int i = 0; i < THREADS; i++) {
                Tag tag = Tag.of("t" + i);
                results.add(pool.submit(() -> {
                    barrier.await(10, TimeUnit.SECONDS);
                    return storage.putManifest(repo, image.content(), MediaTypes.OCI_MANIFEST, null, List.of(tag));
                }));
            }
            for (Future<StoredManifest> f : results) {
                assertThat(f.get(30, TimeUnit.SECONDS).digest()).isEqualTo(image.digest());
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(storage.tags(repo, null, 100)).hasSize(THREADS);
        assertThat(Files.readAllBytes(Fixtures.blobData(root, image.digest()))).isEqualTo(image.content());
        assertThat(leftovers()).isEmpty();
    }

    private List<Path> leftovers() throws Exception {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".tmp") || p.toString().contains("/_uploads/"))
                    .toList();
        }
    }
}
