package io.berth.storage;

import static io.berth.storage.Fixtures.CONFIG_TYPE;
import static io.berth.storage.Fixtures.LAYER_TYPE;
import static io.berth.storage.Fixtures.bytes;
import static io.berth.storage.Fixtures.descriptor;
import static io.berth.storage.Fixtures.imageJson;
import static io.berth.storage.Fixtures.pushBlob;
import static io.berth.storage.Fixtures.sha256;
import static io.berth.storage.Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Collections that run while pushes go on. Several threads upload blobs (new ones, and old ones again by upload,
 * mount or by trusting a HEAD), put manifests, move tags and delete manifests, while the collector runs over and over
 * with a small grace period. Every manifest put that was acknowledged must keep every blob it refers to, byte for byte.
 */
class OnlineGarbageCollectionTest extends StorageTestBase {
    private static final int PUSHERS = 4;
    private static final int PUSHES_PER_THREAD = 100;
    private static final Duration GRACE = Duration.ofMillis(30);
    private static final List<RepositoryName> REPOS = List.of(RepositoryName.of("a/one"), RepositoryName.of("a/two"), RepositoryName.of("b"));

    /** A manifest put that got its digest back, with what it refers to. */
    private record Acknowledged(RepositoryName repo, Digest digest, Map<Digest, byte[]> blobs) {}

    @ParameterizedTest(name = "deleteUntagged={0}")
    @ValueSource(booleans = {false, true})
    void pushesDuringRepeatedCollectionsKeepEveryBlobTheirAcknowledgedManifestsReferTo(boolean deleteUntagged) throws Exception {
        List<byte[]> oldContents = new CopyOnWriteArrayList<>();
        // Old content, unreferenced: garbage the collector may take, which pushers also push again.
        for (int i = 0; i < 40; i++) {
            byte[] content = utf8("old layer " + i);
            pushBlob(storage, REPOS.get(i % REPOS.size()), content);
            age(sha256(content));
            oldContents.add(content);
        }
        List<Acknowledged> acknowledged = new CopyOnWriteArrayList<>();
        Map<Digest, Boolean> deleted = new ConcurrentHashMap<>();
        AtomicInteger cleanFailures = new AtomicInteger();
        AtomicBoolean pushing = new AtomicBoolean(true);
        AtomicLong blobsCollected = new AtomicLong();
        AtomicInteger collections = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(PUSHERS + 1);
        try {
            Future<?> collector = pool.submit(() -> {
                while (pushing.get()) {
                    blobsCollected.addAndGet(storage.collectGarbage(false, deleteUntagged, GRACE).blobsDeleted());
                    collections.incrementAndGet();
                }
                return null;
            });
            List<Future<?>> pushers = new ArrayList<>();
            for (int t = 0; t < PUSHERS; t++) {
                int thread = t;
                pushers.add(pool.submit(() -> {
                    Random random = new Random(thread);
                    for (int i = 0; i < PUSHES_PER_THREAD; i++) {
                        RepositoryName repo = REPOS.get(random.nextInt(REPOS.size()));
                        Map<Digest, byte[]> blobs = new java.util.LinkedHashMap<>();
                        byte[] config = utf8("{\"thread\":" + thread + ",\"push\":" + i + "}");
                        blobs.put(pushBlob(storage, repo, config), config);
                        byte[] old = oldContents.get(random.nextInt(oldContents.size()));
                        blobs.put(pushAgain(repo, old, random.nextInt(3)), old);
                        byte[] fresh = utf8("layer of thread " + thread + " push " + i);
                        blobs.put(pushBlob(storage, repo, fresh), fresh);
                        if (random.nextInt(4) == 0) {
                            age(sha256(fresh)); // an upload that ended a while before its manifest comes
                            oldContents.add(fresh);
                        }
                        try {
                            StoredManifest m = storage.putManifest(repo, manifest(blobs), MediaTypes.OCI_MANIFEST, null,
                                    List.of(Tag.of("t" + random.nextInt(3))));
                            acknowledged.add(new Acknowledged(repo, m.digest(), blobs));
                        } catch (StorageException e) {
                            // A blob it needed was collected before the push verified it: a clean, visible failure.
                            assertThat(e.problem()).as(e.getMessage()).isEqualTo(Problem.MANIFEST_BLOB_UNKNOWN);
                            cleanFailures.incrementAndGet();
                        }
                        if (random.nextInt(10) == 0 && !acknowledged.isEmpty()) {
                            Acknowledged victim = acknowledged.get(random.nextInt(acknowledged.size()));
                            try {
                                storage.deleteManifest(victim.repo(), new Reference.ByDigest(victim.digest()));
                                deleted.put(victim.digest(), true);
                            } catch (StorageException e) {
                                // deleted already, by another thread or an untagged collection
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : pushers) {
                f.get(5, TimeUnit.MINUTES);
            }
            pushing.set(false);
            collector.get(5, TimeUnit.MINUTES);
        } finally {
            pushing.set(false);
            pool.shutdownNow();
        }
        blobsCollected.addAndGet(storage.collectGarbage(false, deleteUntagged, Duration.ZERO).blobsDeleted());

        assertThat(collections.get()).as("collections that ran during the pushes").isGreaterThan(1);
        assertThat(blobsCollected.get()).as("garbage collected").isPositive();
        SoftAssertions softly = new SoftAssertions();
        int checked = 0;
        for (Acknowledged a : acknowledged) {
            if (deleted.containsKey(a.digest())) {
                continue;
            }
            boolean present = isRevision(a);
            if (!present) {
                softly.assertThat(deleteUntagged).as("%s@%s was deleted though it was never deleted nor untagged-collectable", a.repo(), a.digest()).isTrue();
                continue;
            }
            checked++;
            for (Map.Entry<Digest, byte[]> blob : a.blobs().entrySet()) {
                softly.assertThat(read(a.repo(), blob.getKey()))
                        .as("blob %s of acknowledged manifest %s@%s", blob.getKey(), a.repo(), a.digest())
                        .isEqualTo(new String(blob.getValue(), java.nio.charset.StandardCharsets.UTF_8));
            }
        }
        softly.assertThat(checked).as("acknowledged manifests still present").isPositive();
        softly.assertAll();
        assertThat(acknowledged.size()).as("acknowledged pushes (%d failed cleanly)", cleanFailures.get())
                .isGreaterThan(PUSHERS * PUSHES_PER_THREAD / 4);
    }

    @Test
    void aBlobYoungerThanTheGracePeriodIsKeptAndCollectedOnceItIsOlder() throws IOException {
        Digest young = pushBlob(storage, REPO, utf8("uploaded, its manifest not pushed yet"));

        assertThat(storage.collectGarbage(false, false, Duration.ofHours(1)).blobsDeleted()).isZero();
        assertThat(Fixtures.blobData(root, young)).exists();

        age(young);
        assertThat(storage.collectGarbage(false, false, Duration.ofHours(1)).blobsDeleted()).isEqualTo(1);
        assertThat(Fixtures.blobData(root, young)).doesNotExist();
    }

    @Test
    void anOldBlobNewlyMountedIntoARepositoryIsKeptForTheGracePeriod() {
        byte[] content = utf8("old layer, mounted again");
        Digest d = pushBlob(storage, REPO, content);
        age(d);
        RepositoryName other = RepositoryName.of("other");

        assertThat(storage.mountBlob(other, null, d)).isEqualTo(content.length);

        assertThat(storage.collectGarbage(false, false, Duration.ofHours(1)).blobsDeleted()).isZero();
        assertThat(read(other, d)).isEqualTo(new String(content, java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void aCollectionCutShortIsFinishedByTheNextOneAndRequestsRescueWhatTheyNeedMeanwhile() throws IOException {
        Fixtures.Pushed image = Fixtures.pushImage(storage, REPO, "kept", Tag.of("v1"));
        Digest orphan = pushBlob(storage, REPO, utf8("orphan"));
        // What a collection that stopped between burying and deleting leaves: tombstones, and its marker.
        for (Digest d : List.of(image.blobs().get(0), image.blobs().get(1), orphan)) {
            Files.move(Fixtures.blobData(root, d), Fixtures.blobData(root, d).resolveSibling("data.berth-gc"));
        }
        java.nio.file.Path marker = Fixtures.v2(root).resolve("_berth/gc-unfinished");
        Files.createDirectories(marker.getParent());
        Files.writeString(marker, "2026-01-01T00:00:00Z");

        assertThat(read(REPO, image.blobs().get(0))).as("a read renames the tombstone back").startsWith("{\"seed\"");
        GarbageCollector.Result result = storage.collectGarbage(false, false, Duration.ZERO);

        assertThat(result.blobsDeleted()).isEqualTo(1);
        assertThat(Fixtures.blobData(root, orphan).resolveSibling("data.berth-gc")).doesNotExist();
        assertThat(Fixtures.blobData(root, image.blobs().get(1))).as("a referenced blob's tombstone is renamed back").exists();
        assertThat(Fixtures.blobData(root, image.blobs().get(1)).resolveSibling("data.berth-gc")).doesNotExist();
        assertThat(marker).doesNotExist();
    }

    private Digest pushAgain(RepositoryName repo, byte[] content, int how) {
        Digest d = sha256(content);
        switch (how) {
            case 0 -> pushBlob(storage, repo, content);
            case 1 -> {
                if (storage.mountBlob(repo, null, d) < 0) {
                    pushBlob(storage, repo, content);
                }
            }
            default -> {
                try {
                    storage.blobSize(repo, d); // HEAD says it is there: the client skips the upload
                } catch (StorageException e) {
                    pushBlob(storage, repo, content);
                }
            }
        }
        return d;
    }

    private boolean isRevision(Acknowledged a) {
        try {
            storage.getManifest(a.repo(), new Reference.ByDigest(a.digest()));
            return true;
        } catch (StorageException e) {
            return false;
        }
    }

    /** The blob's content as UTF-8 (every test blob is text), or why it cannot be read. */
    private String read(RepositoryName repo, Digest digest) {
        try (BlobContent.File blob = (BlobContent.File) storage.openBlob(repo, digest)) {
            ByteBuffer buf = ByteBuffer.allocate((int) blob.size());
            while (buf.hasRemaining() && blob.channel().read(buf, buf.position()) > 0) {
                // read on
            }
            return new String(buf.array(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (StorageException e) {
            return "missing: " + e.getMessage();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static byte[] manifest(Map<Digest, byte[]> blobs) {
        List<Map.Entry<Digest, byte[]>> list = new ArrayList<>(blobs.entrySet());
        return bytes(imageJson(descriptor(CONFIG_TYPE, list.get(0).getKey(), list.get(0).getValue().length),
                list.subList(1, list.size()).stream().map(e -> descriptor(LAYER_TYPE, e.getKey(), e.getValue().length))
                        .toArray(com.fasterxml.jackson.databind.node.ObjectNode[]::new)));
    }

    /** Makes the blob's data file and its links two days old, as if it had been uploaded then. */
    private void age(Digest digest) {
        List<java.nio.file.Path> files = new ArrayList<>(List.of(Fixtures.blobData(root, digest)));
        for (RepositoryName repo : List.of(REPO, REPOS.get(0), REPOS.get(1), REPOS.get(2))) {
            files.add(Fixtures.repoDir(root, repo).resolve("_layers/sha256").resolve(digest.hex()).resolve("link"));
        }
        for (java.nio.file.Path file : files) {
            try {
                Files.setLastModifiedTime(file, FileTime.from(Instant.now().minus(Duration.ofDays(2))));
            } catch (IOException e) {
                // not linked there, or collected meanwhile
            }
        }
    }
}
