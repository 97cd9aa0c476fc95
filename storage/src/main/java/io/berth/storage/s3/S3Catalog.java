package io.berth.storage.s3;

import io.berth.storage.Problem;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The repositories of the bucket, found as registry:2 finds them (and as {@code RepositoryWalker} does on a
 * filesystem): under {@code repositories/}, a "directory" holding {@code _manifests/} (distribution v3) or
 * {@code _layers/} (registry:2 2.8) is a repository; a directory whose name starts with an underscore is never
 * descended into; any other directory is a namespace (or a nested repository) and is descended into. Nothing is
 * cached: a repository created through another replica is listed at once.
 *
 * <p>registry:2's order (names compared with {@code /} below every other character) is a depth-first walk with each
 * directory's children in byte order, a directory before its children. So a page after {@code last} skips the
 * subtrees wholly before it, and stops once it has {@code limit} names. Each directory costs one delimited listing;
 * the listings of the siblings ahead are sent in parallel ({@link #THREADS} at once, at most {@link #AHEAD} queued),
 * so a level of thousands of repositories takes about its count divided by the threads in round trips.
 */
final class S3Catalog {
    private static final Logger log = LoggerFactory.getLogger(S3Catalog.class);
    /** The threads of the storage's pool for listings, which this class expects. */
    static final int THREADS = 16;
    static final int AHEAD = 256;

    private final ObjectStore store;
    private final ExecutorService pool;

    /** {@code pool} runs the listings sent ahead; it must not be a thread of it that calls this class. */
    S3Catalog(ObjectStore store, ExecutorService pool) {
        this.store = store;
        this.pool = pool;
    }

    /** A pool of {@link #THREADS} daemon threads for the storage's parallel reads and listings. */
    static ExecutorService newPool() {
        AtomicInteger n = new AtomicInteger();
        return Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "berth-s3-reads-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** What one listing of a directory says: whether it is a repository, and its other children's names, sorted. */
    private record Listing(boolean repository, List<String> children) {}

    /** Repository names in registry:2's order, after {@code last}, at most {@code limit}, those {@code visible} accepts. */
    List<RepositoryName> page(@Nullable String last, int limit, Predicate<RepositoryName> visible) {
        List<RepositoryName> out = new ArrayList<>();
        if (limit <= 0) {
            return out;
        }
        walk(S3Layout.REPOSITORIES, "", last, limit, visible, out);
        return out;
    }

    /** Every repository, in registry:2's order. */
    List<RepositoryName> all() {
        return page(null, Integer.MAX_VALUE, r -> true);
    }

    /**
     * Visits {@code dir}'s children (its listing already known as {@code listing}) in order. Returns false once
     * {@code out} is full.
     */
    private boolean walk(String dir, String name, @Nullable String last, int limit, Predicate<RepositoryName> visible,
            List<RepositoryName> out) {
        return visitChildren(dir, name, list(dir).children(), last, limit, visible, out);
    }

    private boolean visitChildren(String dir, String name, List<String> children, @Nullable String last, int limit,
            Predicate<RepositoryName> visible, List<RepositoryName> out) {
        List<String> wanted = new ArrayList<>();
        for (String child : children) {
            String path = name.isEmpty() ? child : name + "/" + child;
            if (last == null || mayHoldAfter(path, last)) {
                wanted.add(child);
            }
        }
        List<CompletableFuture<Listing>> ahead = new ArrayList<>(wanted.size());
        int sent = 0;
        try {
            for (int i = 0; i < wanted.size(); i++) {
                int window = Math.min(AHEAD, Math.max(THREADS, limit - out.size()));
                while (sent < wanted.size() && sent < i + window) {
                    String childDir = dir + wanted.get(sent) + "/";
                    ahead.add(CompletableFuture.supplyAsync(() -> list(childDir), pool));
                    sent++;
                }
                String child = wanted.get(i);
                String path = name.isEmpty() ? child : name + "/" + child;
                Listing listing = ObjectStore.join(ahead.get(i));
                if (listing.repository() && (last == null || compare(path, last) > 0)) {
                    RepositoryName repo = parse(path);
                    if (repo != null && visible.test(repo)) {
                        out.add(repo);
                        if (out.size() >= limit) {
                            return false;
                        }
                    }
                }
                if (!visitChildren(dir + child + "/", path, listing.children(), last, limit, visible, out)) {
                    return false;
                }
            }
            return true;
        } finally {
            for (int i = 0; i < ahead.size(); i++) {
                ahead.get(i).cancel(false);
            }
        }
    }

    private Listing list(String dir) {
        boolean[] repository = {false};
        List<String> children = new ArrayList<>();
        store.listDelimited(dir, sub -> {
            String child = sub.substring(dir.length(), sub.length() - 1);
            if (child.equals("_manifests") || child.equals("_layers")) {
                repository[0] = true;
            } else if (!child.isEmpty() && !child.startsWith("_")) {
                children.add(child);
            }
        }, o -> {});
        children.sort(null);
        return new Listing(repository[0], children);
    }

    /** Whether the subtree of {@code path} (it and the names under it) may hold a name after {@code last}. */
    private static boolean mayHoldAfter(String path, String last) {
        return compare(path, last) > 0 || last.equals(path) || last.startsWith(path + "/");
    }

    /** registry:2's order: names compared with {@code /} as the lowest character. */
    static int compare(String a, String b) {
        return a.replace('/', '\0').compareTo(b.replace('/', '\0'));
    }

    private static @Nullable RepositoryName parse(String name) {
        try {
            return RepositoryName.of(name);
        } catch (StorageException e) {
            if (e.problem() != Problem.NAME_INVALID) {
                throw e;
            }
            log.warn("skipping repository prefix with an invalid name: {}", name);
            return null;
        }
    }

    /** How many blob data objects the bucket holds: one listing of {@code blobs/}, no object read. */
    long countBlobs() {
        long[] n = {0};
        store.list(S3Layout.BLOBS, o -> {
            if (o.key().endsWith("/" + S3Layout.DATA)) {
                n[0]++;
            }
        });
        return n[0];
    }
}
