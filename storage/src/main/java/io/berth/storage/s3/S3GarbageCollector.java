package io.berth.storage.s3;

import io.berth.storage.Digest;
import io.berth.storage.GarbageCollector;
import io.berth.storage.ParsedManifest;
import io.berth.storage.Problem;
import io.berth.storage.Reference;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import io.berth.storage.TagGuard;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * registry:2's mark and sweep on the bucket, with the same guarantees as the filesystem's {@link GarbageCollector}
 * where the store allows them.
 *
 * <ol>
 *   <li><b>Mark.</b> Every revision of every repository and the blobs it refers to (its own blob, config, layers, an
 *       index's children). With {@code deleteUntagged}, a revision survives when a tag reaches it (directly or through
 *       an index), when it is a referrer of a surviving manifest, or when its revision link is younger than the grace
 *       period; the others are deleted under the repository's lock ({@link S3Locks}), as a delete by digest would be.
 *   <li><b>Sweep.</b> A blob is deleted when it is not marked and both its data object and its newest {@code _layers}
 *       link are older than the grace period, by the store's LastModified: an upload or a mount racing the collection
 *       (whose manifest is still to come) is young, and kept.
 *   <li><b>Second look.</b> Before deleting, every revision is listed again, and what the new ones refer to is marked;
 *       just before its delete, each blob's LastModified is read again.
 * </ol>
 * An object store has no rename, so the filesystem's tombstones are not possible: a manifest push that refers to an
 * old, unreferenced blob, neither uploaded again nor mounted, and lands between the second look and the delete can
 * lose it. A grace period of a few minutes makes that a push of content nobody used for that long, as registry:2's
 * own collection (meant to run with the registry read-only) would also not protect. One collection runs at a time in
 * a process.
 */
final class S3GarbageCollector {
    private static final Logger log = LoggerFactory.getLogger(S3GarbageCollector.class);
    private static final ReentrantLock RUNNING = new ReentrantLock();
    private static final int THREADS = 8;

    private final ObjectStore store;
    private final S3Blobs blobs;
    private final S3Manifests manifests;
    private final S3Catalog catalog;
    private final Clock clock;

    S3GarbageCollector(ObjectStore store, S3Blobs blobs, S3Manifests manifests, S3Catalog catalog, Clock clock) {
        this.store = store;
        this.blobs = blobs;
        this.manifests = manifests;
        this.catalog = catalog;
        this.clock = clock;
    }

    GarbageCollector.Result run(boolean dryRun, boolean deleteUntagged, Duration gracePeriod) {
        if (gracePeriod.isNegative()) {
            throw new IllegalArgumentException("the grace period must not be negative, got " + gracePeriod);
        }
        RUNNING.lock();
        try {
            return collect(dryRun, deleteUntagged, clock.instant().minus(gracePeriod));
        } finally {
            RUNNING.unlock();
        }
    }

    private GarbageCollector.Result collect(boolean dryRun, boolean deleteUntagged, Instant cutoff) {
        Set<Digest> marked = ConcurrentHashMap.newKeySet();
        Set<Digest> scanned = ConcurrentHashMap.newKeySet();
        List<String> unreadable = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger manifestsDeleted = new AtomicInteger();
        List<RepositoryName> repositories = catalog.all();
        inParallel(repositories, repo -> {
            if (!deleteUntagged) {
                for (Digest digest : revisions(repo).keySet()) {
                    mark(repo, digest, marked, scanned, unreadable);
                }
                return;
            }
            manifests.locks().locked(repo, () -> {
                Map<Digest, Instant> revisions = revisions(repo);
                Map<Digest, @Nullable ParsedManifest> parsed = new HashMap<>();
                for (Digest d : revisions.keySet()) {
                    ParsedManifest p = manifests.tryParse(d);
                    if (p == null) {
                        unreadable.add(repo + "@" + d);
                    }
                    parsed.put(d, p);
                }
                Set<Digest> live = reachable(repo, revisions, parsed, cutoff);
                for (Digest d : revisions.keySet()) {
                    if (live.contains(d)) {
                        mark(repo, d, marked, scanned, unreadable);
                        continue;
                    }
                    log.info("{}: deleting untagged manifest {}{}", repo, d, dryRun ? " (dry run)" : "");
                    manifestsDeleted.incrementAndGet();
                    if (!dryRun) {
                        try {
                            manifests.delete(repo, new Reference.ByDigest(d), TagGuard.NONE);
                        } catch (StorageException e) {
                            if (e.problem() != Problem.MANIFEST_UNKNOWN) {
                                throw e;
                            }
                        }
                    }
                }
            });
        });
        if (!unreadable.isEmpty()) {
            log.warn("{} manifest(s) cannot be read, so no blob is deleted: {}", unreadable.size(),
                    unreadable.subList(0, Math.min(10, unreadable.size())));
            return new GarbageCollector.Result(manifestsDeleted.get(), 0, 0);
        }
        Map<Digest, Long> candidates = new ConcurrentHashMap<>();
        store.list(S3Layout.BLOBS, o -> {
            Digest d = blobOfDataKey(o.key());
            if (d != null && !marked.contains(d) && o.lastModified().isBefore(cutoff)) {
                candidates.put(d, o.size());
            }
        });
        dropRecentlyLinked(repositories, candidates, cutoff);
        if (dryRun) {
            long bytes = 0;
            for (Map.Entry<Digest, Long> e : candidates.entrySet()) {
                log.info("deleting blob {} (dry run)", e.getKey());
                bytes += e.getValue();
            }
            return new GarbageCollector.Result(manifestsDeleted.get(), candidates.size(), bytes);
        }
        // The second look: revisions pushed since the mark, in repositories old and new.
        List<String> late = Collections.synchronizedList(new ArrayList<>());
        inParallel(catalog.all(), repo -> {
            for (Digest d : revisions(repo).keySet()) {
                if (!scanned.contains(d)) {
                    mark(repo, d, marked, scanned, late);
                }
            }
        });
        if (!late.isEmpty()) {
            log.warn("manifest(s) pushed during the collection cannot be read, so no blob is deleted: {}", late);
            return new GarbageCollector.Result(manifestsDeleted.get(), 0, 0);
        }
        AtomicLong freed = new AtomicLong();
        AtomicInteger deleted = new AtomicInteger();
        inParallel(new ArrayList<>(candidates.keySet()), d -> {
            if (marked.contains(d)) {
                return;
            }
            String key = S3Layout.blobData(d);
            ObjectStore.Stat stat = store.stat(key);
            // Looked at again just before: an upload of the same content since the listing made it young.
            if (stat == null || !stat.lastModified().isBefore(cutoff)) {
                return;
            }
            store.delete(key);
            blobs.forget(d);
            log.info("deleted blob {}", d);
            freed.addAndGet(stat.size());
            deleted.incrementAndGet();
        });
        log.info("collected {} blob(s) ({} bytes), {} manifest(s), {} blob(s) marked", deleted.get(), freed.get(),
                manifestsDeleted.get(), marked.size());
        return new GarbageCollector.Result(manifestsDeleted.get(), deleted.get(), freed.get());
    }

    /** Marks manifest {@code digest} of {@code repo} and what it refers to; an unreadable one is noted. */
    private void mark(RepositoryName repo, Digest digest, Set<Digest> marked, Set<Digest> scanned, List<String> unreadable) {
        marked.add(digest);
        if (!scanned.add(digest)) {
            return;
        }
        ParsedManifest parsed = manifests.tryParse(digest);
        if (parsed == null) {
            if (!manifests.isRevision(repo, digest)) {
                scanned.remove(digest); // deleted meanwhile: decided where it still is one
                return;
            }
            log.warn("{}: manifest {} cannot be read; keeping it", repo, digest);
            unreadable.add(repo + "@" + digest);
            return;
        }
        parsed.blobs().forEach(b -> marked.add(b.digest()));
        parsed.children().forEach(c -> marked.add(c.digest()));
    }

    /** The revisions of {@code repo} by their keys, with their links' times. */
    private Map<Digest, Instant> revisions(RepositoryName repo) {
        Map<Digest, Instant> out = new HashMap<>();
        String root = S3Layout.revisionsRoot(repo);
        store.list(root, o -> {
            Digest d = S3Manifests.digestOfLinkKey(o.key().substring(root.length()));
            if (d != null) {
                out.put(d, o.lastModified());
            }
        });
        return out;
    }

    /** Tagged and recent manifests, their index children, and referrers of anything live, transitively. */
    private Set<Digest> reachable(RepositoryName repo, Map<Digest, Instant> revisions,
            Map<Digest, @Nullable ParsedManifest> parsed, Instant cutoff) {
        Set<Digest> live = new HashSet<>();
        Deque<Digest> work = new ArrayDeque<>();
        revisions.forEach((d, time) -> {
            // Pushed within the grace period, perhaps by a replica about to tag it or to push an index over it; or unreadable.
            if ((!time.isBefore(cutoff) || parsed.get(d) == null) && live.add(d)) {
                work.add(d);
            }
        });
        for (Digest d : manifests.tagTargets(repo).values()) {
            if (live.add(d)) {
                work.add(d);
            }
        }
        Map<Digest, List<Digest>> referrersOf = new HashMap<>();
        parsed.forEach((d, p) -> {
            if (p != null && p.subject() != null) {
                referrersOf.computeIfAbsent(p.subject().digest(), k -> new ArrayList<>()).add(d);
            }
        });
        while (!work.isEmpty()) {
            Digest d = work.poll();
            List<Digest> next = new ArrayList<>(referrersOf.getOrDefault(d, List.of()));
            ParsedManifest p = parsed.get(d);
            if (p != null) {
                p.children().forEach(c -> next.add(c.digest()));
            }
            for (Digest n : next) {
                if (live.add(n)) {
                    work.add(n);
                }
            }
        }
        return live;
    }

    /** Drops the candidates linked into a repository within the grace period (a mount, or an upload's link). */
    private void dropRecentlyLinked(List<RepositoryName> repositories, Map<Digest, Long> candidates, Instant cutoff) {
        if (candidates.isEmpty()) {
            return;
        }
        Set<Digest> recent = ConcurrentHashMap.newKeySet();
        inParallel(repositories, repo -> {
            String root = S3Layout.layersRoot(repo);
            store.list(root, o -> {
                Digest d = S3Manifests.digestOfLinkKey(o.key().substring(root.length()));
                if (d != null && candidates.containsKey(d) && !o.lastModified().isBefore(cutoff)) {
                    recent.add(d);
                }
            });
        });
        if (!recent.isEmpty()) {
            log.info("keeping {} unreferenced blob(s) linked within the grace period", recent.size());
            recent.forEach(candidates::remove);
        }
    }

    /** The digest of a key {@code blobs/<alg>/<xx>/<hex>/data}, or null. */
    private static @Nullable Digest blobOfDataKey(String key) {
        String[] parts = key.split("/");
        if (parts.length != 5 || !parts[4].equals(S3Layout.DATA)) {
            return null;
        }
        Digest d = S3Manifests.digestOfLinkKey(parts[1] + "/" + parts[3] + "/" + S3Layout.LINK);
        return d != null && d.hex().startsWith(parts[2]) ? d : null;
    }

    /** Runs {@code action} on each item on up to {@link #THREADS} threads: each is a few round trips to the store. */
    private static <T> void inParallel(List<T> items, Consumer<T> action) {
        int threads = Math.min(items.size(), THREADS);
        if (threads <= 1) {
            items.forEach(action);
            return;
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "berth-s3-gc-worker");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> done = new ArrayList<>();
            for (T item : items) {
                done.add(pool.submit(() -> action.accept(item)));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException(Problem.STORAGE_FAILED, "interrupted while collecting garbage", e);
        } finally {
            pool.shutdownNow();
        }
    }
}
