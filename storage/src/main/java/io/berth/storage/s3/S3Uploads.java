package io.berth.storage.s3;

import io.berth.storage.Problem;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BiPredicate;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resumable uploads kept in the bucket under {@code repositories/<name>/_uploads/<id>/}, so that any replica can take
 * up any upload: {@code startedat} (registry:2's), {@code berth-state} (the JSON of {@link UploadState}: parts, size,
 * the SHA-256 state and the lease of the writer holding it), the writers' tail objects, and the multipart upload on
 * {@code data}. Nothing of an upload is kept in a replica's memory between requests. See {@link S3Upload} for how a
 * request writes, and its memory bound.
 *
 * <p>A writer holds a lease of {@link #LEASE} on the state, taken and renewed by conditional writes; another request
 * meanwhile gets BLOB_UPLOAD_INVALID, as on the filesystem. When a replica dies mid-request, its lease expires and
 * the next request resumes from the last saved state.
 *
 * <p>Memory: each request holds at most {@code (partConcurrency + 1) * chunksize} bytes of part buffers
 * ({@link S3Upload}), and all uploads of this replica together at most a budget of buffers (by default a quarter of
 * the heap, and at least one upload's worth); a request that finds it spent waits up to {@link #BUFFER_WAIT} for a
 * buffer, then fails with TOOMANYREQUESTS. Up to {@code partConcurrency + 1} idle buffers are kept for reuse.
 *
 * <p>Open-upload limits ({@link #limitOpen}): a repository's uploads are counted from the bucket (one listing per
 * start), so the limit holds across replicas, give or take the starts that race each other; an account's are counted
 * per replica (the uploads it started there that are still in the bucket), so with N replicas an account may hold up
 * to N times the limit.
 */
final class S3Uploads {
    private static final Logger log = LoggerFactory.getLogger(S3Uploads.class);
    /** How long a writer's hold on an upload lasts unless renewed; a dead replica's uploads are free again after it. */
    static final Duration LEASE = Duration.ofSeconds(15);
    /** How long a request waits for a part buffer when the replica's budget is spent. */
    static final Duration BUFFER_WAIT = Duration.ofSeconds(30);
    private static final Pattern ID = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.=-]{0,127}");

    private final ObjectStore store;
    private final S3Blobs blobs;
    private final Clock clock;
    private final Duration lease;
    private final int chunk;
    private final int partConcurrency;
    /** Part buffers kept for reuse: as many as one upload at full speed uses. */
    private final ArrayBlockingQueue<byte[]> pool;
    /** Part buffers that may exist at once, in use or pooled, across all uploads. */
    private final Semaphore budget;
    private final Duration bufferWait;

    private volatile int maxOpen = Integer.MAX_VALUE;
    /** The uploads each account started on this replica (their directory keys), for {@link #limitOpen}. */
    private final Map<String, Set<String>> openPerAccount = new HashMap<>();

    S3Uploads(ObjectStore store, S3Blobs blobs, Clock clock) {
        this(store, blobs, clock, LEASE);
    }

    /** With a lease other than {@link #LEASE}: for tests of expiry. */
    S3Uploads(ObjectStore store, S3Blobs blobs, Clock clock, Duration lease) {
        this(store, blobs, clock, lease, defaultBudget(store.settings()), BUFFER_WAIT);
    }

    /**
     * With {@code buffers} part buffers at most, in use or pooled, across all uploads (at least 1), and a request
     * waiting at most {@code bufferWait} for one.
     */
    S3Uploads(ObjectStore store, S3Blobs blobs, Clock clock, Duration lease, int buffers, Duration bufferWait) {
        S3Settings settings = store.settings();
        if (settings.chunkSize() > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("storage.s3.chunksize above 2 GiB is not supported, got " + settings.chunkSize());
        }
        this.store = store;
        this.blobs = blobs;
        this.clock = clock;
        this.lease = lease;
        this.chunk = (int) settings.chunkSize();
        this.partConcurrency = settings.partConcurrency();
        this.pool = new ArrayBlockingQueue<>(partConcurrency + 1);
        this.budget = new Semaphore(Math.max(1, buffers));
        this.bufferWait = bufferWait;
    }

    /** A quarter of the heap in part buffers, and at least one upload's worth at full speed. */
    static int defaultBudget(S3Settings settings) {
        long quarter = Runtime.getRuntime().maxMemory() / 4 / settings.chunkSize();
        return (int) Math.max(settings.partConcurrency() + 1, Math.min(quarter, 1 << 16));
    }

    ObjectStore store() {
        return store;
    }

    S3Blobs blobs() {
        return blobs;
    }

    int chunkSize() {
        return chunk;
    }

    int partConcurrency() {
        return partConcurrency;
    }

    Duration lease() {
        return lease;
    }

    Instant now() {
        return clock.instant();
    }

    /**
     * A part buffer, waiting up to the buffer wait for one when the budget is spent (another upload's part is
     * acknowledged, or a request ends); TOOMANYREQUESTS after it.
     */
    byte[] acquireBuffer() {
        try {
            if (!budget.tryAcquire(bufferWait.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new StorageException(Problem.TOOMANYREQUESTS, "every upload buffer of this replica is in use ("
                        + budget.availablePermits() + " free of the budget: a quarter of the heap in parts of storage.s3.chunksize); retry");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException(Problem.STORAGE_FAILED, "interrupted while waiting for an upload buffer", e);
        }
        byte[] b = pool.poll();
        return b != null ? b : new byte[chunk];
    }

    void releaseBuffer(byte[] b) {
        pool.offer(b); // a full pool drops it for the collector
        budget.release();
    }

    /** At most {@code max} unfinished uploads per repository, and per account (default: no limit). */
    void limitOpen(int max) {
        if (max < 1) {
            throw new IllegalArgumentException("the open upload limit must be positive, got " + max);
        }
        this.maxOpen = max;
    }

    /** Starts a new upload in {@code repository}, held by the returned handle; {@code account} counts it against its limit. */
    S3Upload start(RepositoryName repository, @Nullable String account) {
        String id = UUID.randomUUID().toString();
        admit(repository, id, account);
        try {
            Instant now = now();
            store.put(S3Layout.uploadStartedAt(repository, id), now.toString().getBytes(StandardCharsets.US_ASCII));
            String token = UUID.randomUUID().toString();
            Instant until = now.plus(lease);
            UploadState state = new UploadState(null, List.of(), 0, 0, null, null, new SHA256Digest().getEncodedState(), token, until);
            String etag = store.putIfAbsent(S3Layout.uploadState(repository, id), state.toJson());
            if (etag == null) {
                throw new StorageException(Problem.STORAGE_FAILED, "upload id " + id + " is already taken in the bucket");
            }
            return new S3Upload(this, repository, id, state, etag, token, until);
        } catch (RuntimeException e) {
            forget(repository, id);
            try {
                store.deleteAll(S3Layout.uploadDir(repository, id));
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    private void admit(RepositoryName repository, String id, @Nullable String account) {
        int max = maxOpen;
        if (max == Integer.MAX_VALUE) {
            remember(account, repository, id);
            return;
        }
        int inRepository = store.listDirectories(S3Layout.uploadsRoot(repository)).size();
        if (inRepository >= max) {
            throw new StorageException(Problem.TOOMANYREQUESTS, repository + " has " + inRepository
                    + " unfinished uploads, the most allowed (berth.uploads.maxOpen); finish or cancel some first");
        }
        if (account != null) {
            List<String> held;
            synchronized (openPerAccount) {
                held = new ArrayList<>(openPerAccount.getOrDefault(account, Set.of()));
            }
            if (held.size() >= max) {
                // Some may have been finished or purged on another replica.
                List<String> gone = held.stream().filter(dir -> store.stat(dir + S3Layout.STATE) == null).toList();
                synchronized (openPerAccount) {
                    Set<String> set = openPerAccount.get(account);
                    if (set != null) {
                        gone.forEach(set::remove);
                    }
                }
                if (held.size() - gone.size() >= max) {
                    throw new StorageException(Problem.TOOMANYREQUESTS, "this account has " + (held.size() - gone.size())
                            + " unfinished uploads, the most allowed (berth.uploads.maxOpen); finish or cancel some first");
                }
            }
        }
        remember(account, repository, id);
    }

    private void remember(@Nullable String account, RepositoryName repository, String id) {
        if (account != null) {
            synchronized (openPerAccount) {
                openPerAccount.computeIfAbsent(account, a -> new LinkedHashSet<>()).add(S3Layout.uploadDir(repository, id));
            }
        }
    }

    /** The upload ended on this replica: it no longer counts against its account. */
    void forget(RepositoryName repository, String id) {
        String dir = S3Layout.uploadDir(repository, id);
        synchronized (openPerAccount) {
            openPerAccount.values().removeIf(set -> set.remove(dir) && set.isEmpty());
        }
    }

    /** Takes hold of an existing upload; BLOB_UPLOAD_UNKNOWN when there is none, BLOB_UPLOAD_INVALID while another request holds it. */
    S3Upload resume(RepositoryName repository, String id) {
        requireId(repository, id);
        String key = S3Layout.uploadState(repository, id);
        ObjectStore.Content c = store.get(key);
        if (c == null) {
            throw unknown(repository, id);
        }
        UploadState state = UploadState.fromJson(c.bytes(), id);
        Instant now = now();
        if (state.leasedAt(now)) {
            throw inUse(id);
        }
        String token = UUID.randomUUID().toString();
        Instant until = now.plus(lease);
        String etag = store.putIfMatch(key, state.withLease(token, until).toJson(), c.etag());
        if (etag == null) {
            throw inUse(id);
        }
        S3Upload upload = new S3Upload(this, repository, id, state, etag, token, until);
        try {
            upload.loadTail(state);
        } catch (RuntimeException e) {
            upload.abandon();
            store.putIfMatch(key, state.withLease(null, null).toJson(), etag);
            throw e;
        }
        return upload;
    }

    /**
     * How many bytes an upload holds, read from its state without taking hold of it; BLOB_UPLOAD_INVALID while a
     * request holds its lease (it may be growing), as {@link #resume} says.
     */
    long progress(RepositoryName repository, String id) {
        requireId(repository, id);
        ObjectStore.Content c = store.get(S3Layout.uploadState(repository, id));
        if (c == null) {
            throw unknown(repository, id);
        }
        UploadState state = UploadState.fromJson(c.bytes(), id);
        if (state.leasedAt(now())) {
            throw inUse(id);
        }
        return state.size();
    }

    private static void requireId(RepositoryName repository, String id) {
        if (!ID.matcher(id).matches()) {
            throw new StorageException(Problem.BLOB_UPLOAD_UNKNOWN, "unknown upload id: " + abbreviate(id));
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "…";
    }

    private static StorageException unknown(RepositoryName repository, String id) {
        return new StorageException(Problem.BLOB_UPLOAD_UNKNOWN, "no upload " + id + " in " + repository);
    }

    private static StorageException inUse(String id) {
        return new StorageException(Problem.BLOB_UPLOAD_INVALID, "upload " + id + " is in use by another request");
    }

    // ---- purging

    /** Deletes uploads started more than {@code age} ago, in every repository; returns how many. */
    int purge(Duration age) {
        Instant cutoff = now().minus(age);
        return purgeWhere("stale", (dir, objects) -> startedAt(dir, objects).isBefore(cutoff));
    }

    /** Deletes uploads nothing has written to for {@code idle} ({@code berth.uploads.idleTimeout}); returns how many. */
    int purgeIdle(Duration idle) {
        Instant cutoff = now().minus(idle);
        return purgeWhere("idle", (dir, objects) -> lastActivity(objects).isBefore(cutoff));
    }

    /**
     * Walks every repository's {@code _uploads/}, one delimited listing per directory of the repositories' names,
     * and purges each upload {@code expired} says to.
     */
    private int purgeWhere(String why, BiPredicate<String, Map<String, ObjectStore.Listed>> expired) {
        int purged = 0;
        Deque<String> dirs = new ArrayDeque<>();
        dirs.add(S3Layout.REPOSITORIES);
        while (!dirs.isEmpty()) {
            String dir = dirs.removeFirst();
            for (String child : store.listDirectories(dir)) {
                String name = child.substring(dir.length());
                if (name.equals(S3Layout.UPLOADS)) {
                    for (String upload : store.listDirectories(child)) {
                        try {
                            Map<String, ObjectStore.Listed> objects = new HashMap<>();
                            store.list(upload, o -> objects.put(o.key().substring(upload.length()), o));
                            if (!objects.isEmpty() && expired.test(upload, objects) && tryPurge(upload, objects, why)) {
                                purged++;
                            }
                        } catch (StorageException e) {
                            log.warn("cannot purge upload {}: {}", upload, e.getMessage());
                        }
                    }
                } else if (!name.startsWith("_")) {
                    dirs.add(child);
                }
            }
        }
        return purged;
    }

    /**
     * Deletes the upload unless a request holds it: first takes its lease (so no request can take it up meanwhile),
     * then aborts its multipart upload and deletes its objects. An upload with no state (registry:2's, or one whose
     * start failed halfway) has its objects deleted; registry:2's multipart upload, whose id it keeps to itself, is
     * left to the bucket's lifecycle rule.
     */
    private boolean tryPurge(String dir, Map<String, ObjectStore.Listed> objects, String why) {
        String key = dir + S3Layout.STATE;
        ObjectStore.Content c = objects.containsKey(S3Layout.STATE) ? store.get(key) : null;
        if (c != null) {
            UploadState state;
            try {
                state = UploadState.fromJson(c.bytes(), dir);
            } catch (StorageException e) {
                state = null;
            }
            if (state != null) {
                Instant now = now();
                if (state.leasedAt(now)) {
                    return false;
                }
                if (store.putIfMatch(key, state.withLease("purge-" + UUID.randomUUID(), now.plus(lease)).toJson(), c.etag()) == null) {
                    return false;
                }
                if (state.multipart() != null) {
                    store.abortMultipart(dir + S3Layout.DATA, state.multipart());
                }
            }
        }
        log.info("purging {} upload {}", why, dir);
        store.deleteAll(dir);
        synchronized (openPerAccount) {
            openPerAccount.values().removeIf(set -> set.remove(dir) && set.isEmpty());
        }
        return true;
    }

    /** When the upload was started: what its {@code startedat} says (registry:2 writes it too), else its oldest object's time. */
    private Instant startedAt(String dir, Map<String, ObjectStore.Listed> objects) {
        ObjectStore.Listed started = objects.get(S3Layout.STARTED_AT);
        if (started != null) {
            ObjectStore.Content c = store.get(dir + S3Layout.STARTED_AT);
            try {
                return c == null ? started.lastModified() : Instant.parse(new String(c.bytes(), StandardCharsets.US_ASCII).strip());
            } catch (DateTimeParseException e) {
                return started.lastModified();
            }
        }
        return objects.values().stream().map(ObjectStore.Listed::lastModified).min(Instant::compareTo).orElse(Instant.EPOCH);
    }

    /** When the upload was last written to: its newest object (the state is saved at least every half lease while written). */
    private static Instant lastActivity(Map<String, ObjectStore.Listed> objects) {
        return objects.values().stream().map(ObjectStore.Listed::lastModified).max(Instant::compareTo).orElse(Instant.EPOCH);
    }
}
