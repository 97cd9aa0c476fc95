package io.berth.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * registry:2's mark and sweep, made safe for multi-arch images and referrers: with
 * {@code deleteUntagged}, a manifest survives when a tag reaches it directly, through an index, or
 * as a referrer of a surviving manifest. registry:2 2.8 would delete an index's children there.
 * Whatever a tag reaches (its manifest, an index's children, their config and layers) is kept in both
 * modes, so what an immutable tag protects from deletes is also safe from collection.
 *
 * <p>Each repository's mark (and, with {@code deleteUntagged}, its manifest deletes) holds the repository's
 * lock, so a tag pushed meanwhile is either seen or waits. The blob sweep does not: like registry:2's, a
 * collection must run while nothing is pushed.
 */
public final class GarbageCollector {
    private static final Logger log = LoggerFactory.getLogger(GarbageCollector.class);

    private final Layout layout;
    private final Manifests manifests;
    private final RepositoryLocks locks;

    /**
     * What a collection did (or, on a dry run, would do).
     *
     * @param manifestsDeleted untagged, unreachable manifests removed from their repositories
     * @param blobsDeleted blobs removed from the store
     * @param bytesFreed the total size of the removed blobs
     */
    public record Result(int manifestsDeleted, int blobsDeleted, long bytesFreed) {}

    GarbageCollector(Layout layout, Manifests manifests, RepositoryLocks locks) {
        this.layout = layout;
        this.manifests = manifests;
        this.locks = locks;
    }

    Result run(boolean dryRun, boolean deleteUntagged) {
        Set<Digest> marked = new HashSet<>();
        int[] manifestsDeleted = {0};
        List<String> unreadable = new ArrayList<>();
        RepositoryWalker.forEachRepository(layout, (repo, dir) -> locks.locked(repo, () -> {
            Map<Digest, @Nullable ParsedManifest> revisions = readRevisions(repo);
            revisions.forEach((digest, parsed) -> {
                if (parsed == null) {
                    unreadable.add(repo + "@" + digest);
                }
            });
            Set<Digest> live = deleteUntagged ? reachable(repo, revisions) : revisions.keySet();
            for (Map.Entry<Digest, @Nullable ParsedManifest> e : revisions.entrySet()) {
                Digest digest = e.getKey();
                if (!live.contains(digest)) {
                    log.info("{}: deleting untagged manifest {}{}", repo, digest, dryRun ? " (dry run)" : "");
                    manifestsDeleted[0]++;
                    if (!dryRun) {
                        manifests.delete(repo, new Reference.ByDigest(digest), TagGuard.NONE);
                    }
                    continue;
                }
                marked.add(digest);
                ParsedManifest parsed = e.getValue();
                if (parsed != null) {
                    parsed.blobs().forEach(d -> marked.add(d.digest()));
                }
            }
        }));
        long[] freed = {0};
        int[] blobsDeleted = {0};
        if (!unreadable.isEmpty()) {
            // What an unreadable manifest refers to is unknown, so no blob can be proven unreferenced.
            log.warn("{} manifest(s) cannot be read, so no blob is deleted: {}", unreadable.size(),
                    unreadable.subList(0, Math.min(10, unreadable.size())));
            return new Result(manifestsDeleted[0], 0, 0);
        }
        forEachBlob((digest, dataFile) -> {
            if (marked.contains(digest)) {
                return;
            }
            try {
                freed[0] += Files.size(dataFile);
            } catch (IOException e) {
                // counted as zero bytes
            }
            blobsDeleted[0]++;
            log.info("deleting blob {}{}", digest, dryRun ? " (dry run)" : "");
            if (!dryRun) {
                FileTrees.delete(dataFile.getParent());
            }
        });
        return new Result(manifestsDeleted[0], blobsDeleted[0], freed[0]);
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

    /** Tagged manifests, their index children, and referrers of anything live, transitively. */
    private Set<Digest> reachable(RepositoryName repo, Map<Digest, @Nullable ParsedManifest> revisions) {
        Set<Digest> live = new HashSet<>();
        Deque<Digest> work = new ArrayDeque<>();
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

    private void forEachBlob(java.util.function.BiConsumer<Digest, Path> action) {
        for (DigestAlgorithm alg : DigestAlgorithm.values()) {
            for (Path prefix : list(layout.blobsRoot().resolve(alg.prefix()))) {
                for (Path dir : list(prefix)) {
                    Path data = dir.resolve(Layout.DATA);
                    Digest digest;
                    try {
                        digest = new Digest(alg, dir.getFileName().toString());
                    } catch (StorageException e) {
                        continue;
                    }
                    if (Files.isRegularFile(data)) {
                        action.accept(digest, data);
                    }
                }
            }
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
