package io.berth.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * registry:2's mark and sweep, made safe for multi-arch images and referrers, and safe to run while the registry
 * serves (online): with {@code deleteUntagged}, a manifest survives when a tag reaches it directly, through an index,
 * or as a referrer of a surviving manifest. registry:2 2.8 would delete an index's children there. Whatever a tag
 * reaches (its manifest, an index's children, their config and layers) is kept in both modes, so what an immutable
 * tag protects from deletes is also safe from collection.
 *
 * <p>Online, in this process or from another one on the same volume:
 * <ol>
 *   <li><b>Grace period.</b> A blob whose data file or whose newest {@code _layers} link is younger than
 *       {@code gracePeriod} is kept: an upload or a mount whose manifest is still to come. An upload of content already
 *       stored and a mount refresh the data file's time ({@link Blobs#touch}). With {@code deleteUntagged}, a revision
 *       written within the grace period is kept too.
 *   <li><b>Mark.</b> Each repository's mark (and its untagged deletes) holds the repository's lock, so a push in this
 *       process is either seen or waits.
 *   <li><b>Bury, look again, delete.</b> Candidates are renamed to tombstones ({@link Blobs#bury}). Then every
 *       revision written since the mark is read, and the tombstones of what it refers to are renamed back; only then
 *       are the remaining tombstones deleted. A manifest push checks its blobs again after writing its revision and
 *       renames back any tombstone it needs ({@link Blobs#rescue}): if a blob is buried after that check, the revision
 *       was already visible to the second look. So a push is either acknowledged with all its blobs, or refused with
 *       MANIFEST_BLOB_UNKNOWN, never acknowledged with a blob missing.
 * </ol>
 * A collection that stops half way leaves tombstones; the next one renames back those something refers to and deletes
 * the rest. One collection runs at a time in a process.
 */
public final class GarbageCollector {
    private static final Logger log = LoggerFactory.getLogger(GarbageCollector.class);
    private static final java.util.concurrent.locks.ReentrantLock RUNNING = new java.util.concurrent.locks.ReentrantLock();
    private static final int BATCH = 256;
    private static final int THREADS = 8;

    private final Layout layout;
    private final Blobs blobs;
    private final Manifests manifests;
    private final RepositoryLocks locks;
    private final Clock clock;

    /**
     * What a collection did (or, on a dry run, would do).
     *
     * @param manifestsDeleted untagged, unreachable manifests removed from their repositories
     * @param blobsDeleted blobs removed from the store
     * @param bytesFreed the total size of the removed blobs
     */
    public record Result(int manifestsDeleted, int blobsDeleted, long bytesFreed) {}

    GarbageCollector(Layout layout, Blobs blobs, Manifests manifests, RepositoryLocks locks, Clock clock) {
        this.layout = layout;
        this.blobs = blobs;
        this.manifests = manifests;
        this.locks = locks;
        this.clock = clock;
    }

    Result run(boolean dryRun, boolean deleteUntagged, Duration gracePeriod) {
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

    private Result collect(boolean dryRun, boolean deleteUntagged, Instant cutoff) {
        long t0 = System.nanoTime();
        Set<Digest> marked = ConcurrentHashMap.newKeySet();
        // Manifests whose references are marked: a digest is also marked when only mentioned (an index's child).
        Set<Digest> scanned = ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicInteger deletedManifests = new java.util.concurrent.atomic.AtomicInteger();
        List<String> unreadable = java.util.Collections.synchronizedList(new ArrayList<>());
        inParallel(repositories(), repo -> locks.locked(repo, () -> {
            if (!deleteUntagged) {
                markEveryRevision(repo, marked, scanned, unreadable);
                return;
            }
            Map<Digest, @Nullable ParsedManifest> revisions = readRevisions(repo);
            revisions.forEach((digest, parsed) -> {
                if (parsed == null) {
                    unreadable.add(repo + "@" + digest);
                }
            });
            Set<Digest> live = deleteUntagged ? reachable(repo, revisions, cutoff) : revisions.keySet();
            for (Map.Entry<Digest, @Nullable ParsedManifest> e : revisions.entrySet()) {
                Digest digest = e.getKey();
                if (!live.contains(digest)) {
                    log.info("{}: deleting untagged manifest {}{}", repo, digest, dryRun ? " (dry run)" : "");
                    deletedManifests.incrementAndGet();
                    if (!dryRun) {
                        manifests.delete(repo, new Reference.ByDigest(digest), TagGuard.NONE);
                    }
                    continue;
                }
                mark(marked, scanned, digest, e.getValue());
            }
        }));
        int manifestsDeleted = deletedManifests.get();
        long t1 = System.nanoTime();
        if (!unreadable.isEmpty()) {
            // What an unreadable manifest refers to is unknown, so no blob can be proven unreferenced.
            log.warn("{} manifest(s) cannot be read, so no blob is deleted: {}", unreadable.size(),
                    unreadable.subList(0, Math.min(10, unreadable.size())));
            return new Result(manifestsDeleted, 0, 0);
        }
        List<Digest> candidates = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Digest> buried = java.util.Collections.synchronizedList(new ArrayList<>());
        forEachUnmarkedBlob(marked, (digest, data, isTombstone) -> {
            if (isTombstone) {
                // Left by a collection that stopped half way (or that runs in another process): decided again below.
                if (dryRun) {
                    blobs.rescue(digest);
                } else {
                    buried.add(digest);
                }
            } else if (olderThan(data, cutoff)) {
                candidates.add(digest);
            }
        });
        Path unfinished = layout.v2().resolve("_berth").resolve("gc-unfinished");
        if (Files.exists(unfinished)) {
            rescueMarkedTombstones(marked);
        }
        long t2 = System.nanoTime();
        dropRecentlyLinked(candidates, cutoff);
        long t3 = System.nanoTime();
        if (dryRun) {
            long bytes = 0;
            for (Digest d : candidates) {
                log.info("deleting blob {} (dry run)", d);
                bytes += Math.max(0, blobs.globalSize(d));
            }
            return new Result(manifestsDeleted, candidates.size(), bytes);
        }
        AtomicFiles.write(unfinished, clock.instant().toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        inParallel(batches(candidates), batch -> {
            for (Digest d : batch) {
                // Looked at again just before: an upload of the same content or a mount since the scan refreshed it.
                if (olderThan(layout.blobData(d), cutoff) && blobs.bury(d)) {
                    buried.add(d);
                }
            }
        });
        long t4 = System.nanoTime();
        if (!markRevisionsWrittenSince(marked, scanned)) {
            buried.forEach(blobs::rescue);
            FileTrees.delete(unfinished);
            return new Result(manifestsDeleted, 0, 0);
        }
        java.util.concurrent.atomic.AtomicLong freed = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicInteger deleted = new java.util.concurrent.atomic.AtomicInteger();
        inParallel(batches(buried), batch -> {
            for (Digest d : batch) {
                if (marked.contains(d)) {
                    blobs.rescue(d);
                    continue;
                }
                long size = blobs.deleteBuried(d);
                if (size >= 0) {
                    log.info("deleted blob {}", d);
                    freed.addAndGet(size);
                    deleted.incrementAndGet();
                }
            }
        });
        int blobsDeleted = deleted.get();
        FileTrees.delete(unfinished);
        long t6 = System.nanoTime();
        log.info("collected {} blob(s) of {} marked in {} ms: mark {} ms, scan {} ms, recent links {} ms, bury {} ms, second look and delete {} ms",
                blobsDeleted, marked.size(), ms(t6 - t0), ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t3), ms(t6 - t4));
        return new Result(manifestsDeleted, blobsDeleted, freed.get());
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }

    private static void mark(Set<Digest> marked, Set<Digest> scanned, Digest manifest, @Nullable ParsedManifest parsed) {
        scanned.add(manifest);
        marked.add(manifest);
        if (parsed != null) {
            parsed.blobs().forEach(d -> marked.add(d.digest()));
        }
    }

    /**
     * The second look: marks every revision, in every repository, that the mark did not see (pushed since, in this
     * process or another), with what it refers to. False when one of them cannot be read.
     */
    private boolean markRevisionsWrittenSince(Set<Digest> marked, Set<Digest> scanned) {
        boolean[] readable = {true};
        RepositoryWalker.forEachRepository(layout, (repo, dir) -> {
            for (DigestAlgorithm alg : DigestAlgorithm.values()) {
                Path revisions = layout.revisionsRoot(repo).resolve(alg.prefix());
                for (String name : names(revisions)) {
                    Digest named;
                    try {
                        named = new Digest(alg, name);
                    } catch (StorageException e) {
                        named = null;
                    }
                    if (named != null && scanned.contains(named)) {
                        continue;
                    }
                    Digest digest = AtomicFiles.readLink(revisions.resolve(name).resolve(Layout.LINK));
                    if (digest == null || scanned.contains(digest)) {
                        continue;
                    }
                    ParsedManifest parsed = manifests.tryParse(digest);
                    if (parsed == null) {
                        log.warn("{}: manifest {} pushed during the collection cannot be read, so no blob is deleted", repo, digest);
                        readable[0] = false;
                    }
                    mark(marked, scanned, digest, parsed);
                }
            }
        });
        return readable[0];
    }

    /** Drops the candidates linked into a repository within the grace period (a mount, or an upload's link). */
    private void dropRecentlyLinked(List<Digest> candidates, Instant cutoff) {
        if (candidates.isEmpty()) {
            return;
        }
        Set<Digest> recent = ConcurrentHashMap.newKeySet();
        Set<Digest> wanted = new HashSet<>(candidates);
        List<Path> repositories = new ArrayList<>();
        RepositoryWalker.forEachRepository(layout, (repo, dir) -> repositories.add(dir));
        inParallel(repositories, dir -> {
            for (DigestAlgorithm alg : DigestAlgorithm.values()) {
                Path layers = dir.resolve(Layout.LAYERS).resolve(alg.prefix());
                // A new link makes a new directory here, which changes this directory's time: skip the old ones.
                if (olderThan(layers, cutoff)) {
                    continue;
                }
                for (String name : names(layers)) {
                    Digest digest;
                    try {
                        digest = new Digest(alg, name);
                    } catch (StorageException e) {
                        continue;
                    }
                    if (wanted.contains(digest) && !olderThan(layers.resolve(name).resolve(Layout.LINK), cutoff)) {
                        recent.add(digest);
                    }
                }
            }
        });
        if (!recent.isEmpty()) {
            log.info("keeping {} unreferenced blob(s) linked within the grace period", recent.size());
            candidates.removeIf(recent::contains);
        }
    }

    /** Whether {@code file} was last modified before {@code cutoff}; a missing file is not. */
    private static boolean olderThan(Path file, Instant cutoff) {
        try {
            return Files.getLastModifiedTime(file).toInstant().isBefore(cutoff);
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Marks every revision of {@code repo} and every digest its bytes mention, without parsing them: the mark of a
     * collection that keeps untagged manifests needs no structure, and a digest in an annotation only keeps more. The
     * bytes are checked against the digest instead, so a damaged manifest stops the collection as an unparseable one
     * does.
     */
    private void markEveryRevision(RepositoryName repo, Set<Digest> marked, Set<Digest> scanned, List<String> unreadable) {
        for (Digest digest : revisionsByName(repo)) {
            if (!scanned.add(digest)) {
                continue; // the same manifest in another repository: marked there
            }
            marked.add(digest);
            byte[] content;
            try {
                content = blobs.read(digest);
            } catch (StorageException e) {
                if (!manifests.isRevision(repo, digest)) {
                    scanned.remove(digest); // a revision being deleted (its link gone): decided where it is one
                    continue;
                }
                log.warn("{}: manifest {} cannot be read ({}); keeping it", repo, digest, e.getMessage());
                unreadable.add(repo + "@" + digest);
                continue;
            }
            if (!digest.matches(content)) {
                log.warn("{}: manifest {} does not match its digest; keeping it", repo, digest);
                unreadable.add(repo + "@" + digest);
                continue;
            }
            markMentioned(content, marked);
        }
    }

    /** Marks every {@code sha256:<64 hex>} and {@code sha512:<128 hex>} in {@code json}. */
    static void markMentioned(byte[] json, Set<Digest> marked) {
        for (int i = 0; i + 7 < json.length; i++) {
            if (json[i] != 's' || json[i + 1] != 'h' || json[i + 2] != 'a') {
                continue;
            }
            DigestAlgorithm alg;
            if (json[i + 3] == '2' && json[i + 4] == '5' && json[i + 5] == '6' && json[i + 6] == ':') {
                alg = DigestAlgorithm.SHA256;
            } else if (json[i + 3] == '5' && json[i + 4] == '1' && json[i + 5] == '2' && json[i + 6] == ':') {
                alg = DigestAlgorithm.SHA512;
            } else {
                continue;
            }
            int start = i + 7;
            int end = start;
            while (end < json.length && (json[end] >= '0' && json[end] <= '9' || json[end] >= 'a' && json[end] <= 'f')) {
                end++;
            }
            if (end - start == alg.hexLength()) {
                marked.add(new Digest(alg, new String(json, start, end - start, java.nio.charset.StandardCharsets.US_ASCII)));
            }
            i = end - 1;
        }
    }

    private Map<Digest, @Nullable ParsedManifest> readRevisions(RepositoryName repo) {
        Map<Digest, @Nullable ParsedManifest> out = new HashMap<>();
        for (Digest digest : manifests.revisions(repo)) {
            try {
                out.put(digest, manifests.load(digest).parsed());
            } catch (StorageException e) {
                log.warn("{}: manifest {} cannot be read ({}); keeping it", repo, digest, e.getMessage());
                out.put(digest, null);
            }
        }
        return out;
    }

    /** Tagged and recent manifests, their index children, and referrers of anything live, transitively. */
    private Set<Digest> reachable(RepositoryName repo, Map<Digest, @Nullable ParsedManifest> revisions, Instant cutoff) {
        Set<Digest> live = new HashSet<>();
        Deque<Digest> work = new ArrayDeque<>();
        for (Digest d : revisions.keySet()) {
            // Pushed within the grace period, perhaps by another process about to tag it or to push an index over it.
            if (!olderThan(layout.revisionLink(repo, d), cutoff) && live.add(d)) {
                work.add(d);
            }
        }
        for (Tag tag : manifests.allTags(repo)) {
            Digest d = AtomicFiles.readLink(layout.tagCurrentLink(repo, tag));
            if (d != null && live.add(d)) {
                work.add(d);
            }
        }
        Map<Digest, List<Digest>> referrersOf = new HashMap<>();
        revisions.forEach((digest, parsed) -> {
            if (parsed == null) {
                if (live.add(digest)) {
                    work.add(digest);
                }
            } else if (parsed.subject() != null) {
                referrersOf.computeIfAbsent(parsed.subject().digest(), k -> new ArrayList<>()).add(digest);
            }
        });
        while (!work.isEmpty()) {
            Digest d = work.poll();
            ParsedManifest parsed = revisions.get(d);
            List<Digest> next = new ArrayList<>(referrersOf.getOrDefault(d, List.of()));
            if (parsed != null) {
                parsed.children().forEach(c -> next.add(c.digest()));
            }
            for (Digest n : next) {
                if (live.add(n)) {
                    work.add(n);
                }
            }
        }
        return live;
    }

    private interface BlobVisitor {
        void visit(Digest digest, Path file, boolean isTombstone);
    }

    /**
     * Every blob not in {@code marked} whose data file is there, and every tombstone whose data file is missing, in
     * parallel over the two-letter prefix directories ({@code action} must be thread-safe). A marked blob costs no
     * system call: the directories are listed, their entries not looked at.
     */
    private void forEachUnmarkedBlob(Set<Digest> marked, BlobVisitor action) {
        record Prefix(DigestAlgorithm alg, Path dir) {}
        List<Prefix> prefixes = new ArrayList<>();
        for (DigestAlgorithm alg : DigestAlgorithm.values()) {
            list(layout.blobsRoot().resolve(alg.prefix())).forEach(dir -> prefixes.add(new Prefix(alg, dir)));
        }
        inParallel(prefixes, p -> {
            // File.list gives bare names: no Path for the (many) marked blobs.
            for (String name : names(p.dir())) {
                Digest digest;
                try {
                    digest = new Digest(p.alg(), name);
                } catch (StorageException e) {
                    continue;
                }
                if (marked.contains(digest)) {
                    continue;
                }
                Path dir = p.dir().resolve(name);
                Path data = dir.resolve(Layout.DATA);
                if (Files.isRegularFile(data)) {
                    action.visit(digest, data, false);
                } else if (Files.isRegularFile(dir.resolve(Layout.TOMBSTONE))) {
                    action.visit(digest, dir.resolve(Layout.TOMBSTONE), true);
                }
            }
        });
    }

    /**
     * Renames back the tombstones of marked blobs that a collection cut short left ({@code _berth/gc-unfinished} says
     * one did); a request would on first use, but registry:2 would not. One file check per marked blob.
     */
    private void rescueMarkedTombstones(Set<Digest> marked) {
        for (Digest d : marked) {
            if (Files.exists(layout.blobData(d).resolveSibling(Layout.TOMBSTONE), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                blobs.rescue(d);
            }
        }
    }

    private List<RepositoryName> repositories() {
        List<RepositoryName> repos = new ArrayList<>();
        RepositoryWalker.forEachRepository(layout, (repo, dir) -> repos.add(repo));
        return repos;
    }

    /** {@code items} cut into lists of {@link #BATCH}, so that each task of {@link #inParallel} is worth a thread hop. */
    private static <T> List<List<T>> batches(List<T> items) {
        List<List<T>> out = new ArrayList<>();
        synchronized (items) {
            for (int i = 0; i < items.size(); i += BATCH) {
                out.add(List.copyOf(items.subList(i, Math.min(items.size(), i + BATCH))));
            }
        }
        return out;
    }

    /**
     * Runs {@code action} on each item (a repository, a prefix directory, a batch of blobs), on up to {@link #THREADS}
     * threads. The steps are mostly file system calls: on a volume not in the page cache each waits for the disk, and
     * several in flight keep it busy. Measured on a cold ext4 volume of 100,000 blobs on 2 cores: 4.7 s with 2 threads,
     * 3.1 s with 8, 3.4 s with 16 (bench/RESULTS.md, "Garbage collection").
     */
    private static <T> void inParallel(List<T> items, java.util.function.Consumer<T> action) {
        int threads = Math.min(items.size(), THREADS);
        if (threads <= 1) {
            items.forEach(action);
            return;
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "berth-gc-worker");
            t.setDaemon(true);
            return t;
        });
        try {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            for (T item : items) {
                done.add(pool.submit(() -> action.accept(item)));
            }
            for (java.util.concurrent.Future<?> f : done) {
                f.get();
            }
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while marking", e);
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The revisions of {@code repo} named by their directories, without reading each link (registry:2 enumerates them
     * the same way); a directory whose link is gone only keeps a little more.
     */
    private List<Digest> revisionsByName(RepositoryName repo) {
        List<Digest> out = new ArrayList<>();
        for (DigestAlgorithm alg : DigestAlgorithm.values()) {
            for (String name : names(layout.revisionsRoot(repo).resolve(alg.prefix()))) {
                try {
                    out.add(new Digest(alg, name));
                } catch (StorageException e) {
                    // not a digest directory
                }
            }
        }
        return out;
    }

    /** The names in {@code dir}, none when it is missing; bare strings, cheaper than a Path each. */
    private static String[] names(Path dir) {
        String[] names = dir.toFile().list();
        return names == null ? new String[0] : names;
    }

    private static List<Path> list(Path dir) {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, Files::isDirectory)) {
            s.forEach(out::add);
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
