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
        Set<Digest> marked = ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicInteger deletedManifests = new java.util.concurrent.atomic.AtomicInteger();
        List<String> unreadable = java.util.Collections.synchronizedList(new ArrayList<>());
        inParallel(repositories(), repo -> locks.locked(repo, () -> {
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
                mark(marked, digest, e.getValue());
            }
        }));
        int manifestsDeleted = deletedManifests.get();
        if (!unreadable.isEmpty()) {
            // What an unreadable manifest refers to is unknown, so no blob can be proven unreferenced.
            log.warn("{} manifest(s) cannot be read, so no blob is deleted: {}", unreadable.size(),
                    unreadable.subList(0, Math.min(10, unreadable.size())));
            return new Result(manifestsDeleted, 0, 0);
        }
        List<Digest> candidates = new ArrayList<>();
        List<Digest> buried = new ArrayList<>();
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
        dropRecentlyLinked(candidates, cutoff);
        if (dryRun) {
            long bytes = 0;
            for (Digest d : candidates) {
                log.info("deleting blob {} (dry run)", d);
                bytes += Math.max(0, blobs.globalSize(d));
            }
            return new Result(manifestsDeleted, candidates.size(), bytes);
        }
        AtomicFiles.write(unfinished, clock.instant().toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        for (Digest d : candidates) {
            // Looked at again just before: an upload of the same content or a mount since the scan refreshed it.
            if (olderThan(layout.blobData(d), cutoff) && blobs.bury(d)) {
                buried.add(d);
            }
        }
        if (!markRevisionsWrittenSince(marked)) {
            buried.forEach(blobs::rescue);
            FileTrees.delete(unfinished);
            return new Result(manifestsDeleted, 0, 0);
        }
        long freed = 0;
        int blobsDeleted = 0;
        for (Digest d : buried) {
            if (marked.contains(d)) {
                blobs.rescue(d);
                continue;
            }
            long size = blobs.deleteBuried(d);
            if (size >= 0) {
                log.info("deleted blob {}", d);
                freed += size;
                blobsDeleted++;
            }
        }
        FileTrees.delete(unfinished);
        return new Result(manifestsDeleted, blobsDeleted, freed);
    }

    private static void mark(Set<Digest> marked, Digest manifest, @Nullable ParsedManifest parsed) {
        marked.add(manifest);
        if (parsed != null) {
            parsed.blobs().forEach(d -> marked.add(d.digest()));
        }
    }

    /**
     * The second look: marks every revision, in every repository, that the mark did not see (pushed since, in this
     * process or another), with what it refers to. False when one of them cannot be read.
     */
    private boolean markRevisionsWrittenSince(Set<Digest> marked) {
        boolean[] readable = {true};
        RepositoryWalker.forEachRepository(layout, (repo, dir) -> {
            for (DigestAlgorithm alg : DigestAlgorithm.values()) {
                for (Path revision : list(layout.revisionsRoot(repo).resolve(alg.prefix()))) {
                    Digest named;
                    try {
                        named = new Digest(alg, revision.getFileName().toString());
                    } catch (StorageException e) {
                        named = null;
                    }
                    if (named != null && marked.contains(named)) {
                        continue;
                    }
                    Digest digest = AtomicFiles.readLink(revision.resolve(Layout.LINK));
                    if (digest == null || marked.contains(digest)) {
                        continue;
                    }
                    ParsedManifest parsed = manifests.tryParse(digest);
                    if (parsed == null) {
                        log.warn("{}: manifest {} pushed during the collection cannot be read, so no blob is deleted", repo, digest);
                        readable[0] = false;
                    }
                    mark(marked, digest, parsed);
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
        Set<Digest> recent = new HashSet<>();
        Set<Digest> wanted = new HashSet<>(candidates);
        RepositoryWalker.forEachRepository(layout, (repo, dir) -> {
            for (DigestAlgorithm alg : DigestAlgorithm.values()) {
                Path layers = dir.resolve(Layout.LAYERS).resolve(alg.prefix());
                // A new link makes a new directory here, which changes this directory's time: skip the old ones.
                if (!Files.isDirectory(layers) || olderThan(layers, cutoff)) {
                    continue;
                }
                for (Path link : list(layers)) {
                    Digest digest;
                    try {
                        digest = new Digest(alg, link.getFileName().toString());
                    } catch (StorageException e) {
                        continue;
                    }
                    if (wanted.contains(digest) && !olderThan(link.resolve(Layout.LINK), cutoff)) {
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
     * Every blob not in {@code marked} whose data file is there, and every tombstone whose data file is missing. A
     * marked blob costs no system call: the directories are listed, their entries not looked at.
     */
    private void forEachUnmarkedBlob(Set<Digest> marked, BlobVisitor action) {
        for (DigestAlgorithm alg : DigestAlgorithm.values()) {
            for (Path prefix : list(layout.blobsRoot().resolve(alg.prefix()))) {
                for (Path dir : list(prefix)) {
                    Digest digest;
                    try {
                        digest = new Digest(alg, dir.getFileName().toString());
                    } catch (StorageException e) {
                        continue;
                    }
                    if (marked.contains(digest)) {
                        continue;
                    }
                    Path data = dir.resolve(Layout.DATA);
                    if (Files.isRegularFile(data)) {
                        action.visit(digest, data, false);
                    } else if (Files.isRegularFile(dir.resolve(Layout.TOMBSTONE))) {
                        action.visit(digest, dir.resolve(Layout.TOMBSTONE), true);
                    }
                }
            }
        }
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

    /** Runs {@code action} on each repository, on up to four threads (the mark is file reads and JSON parsing). */
    private static void inParallel(List<RepositoryName> repos, java.util.function.Consumer<RepositoryName> action) {
        int threads = Math.max(1, Math.min(4, Math.min(repos.size(), Runtime.getRuntime().availableProcessors())));
        if (threads == 1) {
            repos.forEach(action);
            return;
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "berth-gc-mark");
            t.setDaemon(true);
            return t;
        });
        try {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            for (RepositoryName repo : repos) {
                done.add(pool.submit(() -> action.accept(repo)));
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
