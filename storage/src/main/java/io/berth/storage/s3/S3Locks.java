package io.berth.storage.s3;

import io.berth.storage.Problem;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-repository lock of the S3 backend, shared by every replica on the bucket: the object
 * {@code repositories/<name>/_berth/lock}, whose body names its owner and the lease's expiry.
 *
 * <ul>
 *   <li><b>Take:</b> PutObject with {@code If-None-Match: *}; the store lets exactly one writer create it.
 *   <li><b>Wait:</b> while another replica holds an unexpired lease, retry with a jittered backoff (10 ms doubling to
 *       250 ms), up to {@code maxWait}; then TOOMANYREQUESTS naming the holder and its lease, so the client retries.
 *   <li><b>Break:</b> a lease past its expiry (a replica killed while holding it) is taken over with PutObject
 *       {@code If-Match: <the ETag read>}, so of several replicas breaking it only one wins.
 *   <li><b>Release:</b> DeleteObject {@code If-Match: <our ETag>}: a lease that was broken meanwhile is not deleted
 *       from under its new holder.
 * </ul>
 * While held, the lease is renewed every third of its length (If-Match on its ETag), so a long hold (a collection's
 * pass over a large repository) keeps it. A lease can still be broken from under a holder that stalls past it (a
 * long JVM pause, a partition from the store): the lock alone is then not enough, which is why the tag writes it
 * guards are also conditional (see {@link S3Manifests}).
 *
 * <p>Threads of one process first take a local lock of the repository's stripe, so they queue here rather than on
 * the store; the lock is reentrant per thread (a collection holding it deletes in the repository).
 */
final class S3Locks {
    private static final Logger log = LoggerFactory.getLogger(S3Locks.class);
    private static final int STRIPES = 256;
    static final Duration DEFAULT_LEASE = Duration.ofSeconds(60);
    static final Duration DEFAULT_MAX_WAIT = Duration.ofSeconds(30);

    private final ObjectStore store;
    private final Clock clock;
    private final Duration lease;
    private final Duration maxWait;
    private final String owner = UUID.randomUUID().toString();
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    /** The repositories this thread holds the store's lock of, with the lock's ETag and depth. */
    private final ThreadLocal<Map<RepositoryName, Held>> held = ThreadLocal.withInitial(HashMap::new);

    /** A lock this process holds: its current ETag (a renewal changes it) and its renewal task. */
    private static final class Held {
        String etag;
        int depth = 1;
        boolean released;
        @Nullable ScheduledFuture<?> renewal;

        Held(String etag) {
            this.etag = etag;
        }
    }

    /** Renews the leases of locks held for long (a collection's pass over a large repository). */
    private final ScheduledExecutorService renewer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "berth-s3-lock-renewer");
        t.setDaemon(true);
        return t;
    });

    S3Locks(ObjectStore store, Clock clock, Duration lease, Duration maxWait) {
        this.store = store;
        this.clock = clock;
        this.lease = lease;
        this.maxWait = maxWait;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantLock();
        }
    }

    static String key(RepositoryName repository) {
        return S3Layout.lock(repository);
    }

    /** Runs {@code action} holding {@code repository}'s lock, and returns what it returns. */
    <T> T locked(RepositoryName repository, Supplier<T> action) {
        ReentrantLock local = stripe(repository);
        local.lock();
        try {
            Map<RepositoryName, Held> mine = held.get();
            Held h = mine.get(repository);
            if (h != null) {
                h.depth++;
                try {
                    return action.get();
                } finally {
                    h.depth--;
                }
            }
            Held taken = new Held(acquire(repository));
            long every = Math.max(1, lease.toMillis() / 3);
            taken.renewal = renewer.scheduleWithFixedDelay(() -> renew(repository, taken), every, every, TimeUnit.MILLISECONDS);
            mine.put(repository, taken);
            try {
                return action.get();
            } finally {
                mine.remove(repository);
                release(repository, taken);
            }
        } finally {
            local.unlock();
        }
    }

    /** Runs {@code action} holding {@code repository}'s lock. */
    void locked(RepositoryName repository, Runnable action) {
        locked(repository, () -> {
            action.run();
            return null;
        });
    }

    private String acquire(RepositoryName repository) {
        String key = key(repository);
        long start = System.nanoTime();
        long backoffMillis = 10;
        for (;;) {
            Instant now = clock.instant();
            byte[] body = body(now.plus(lease));
            String etag = store.putIfAbsent(key, body);
            if (etag != null) {
                return etag;
            }
            ObjectStore.Content current = store.get(key);
            if (current == null) {
                continue; // released meanwhile
            }
            Lease other = Lease.parse(current.bytes());
            if (other == null || other.expires().isBefore(now)) {
                String broken = store.putIfMatch(key, body, current.etag());
                if (broken != null) {
                    log.warn("{}: broke the expired lock of {} (lease until {})", repository,
                            other == null ? "an unreadable owner" : other.owner(), other == null ? "?" : other.expires());
                    return broken;
                }
                continue; // another replica broke it first, or its holder released it
            }
            if (System.nanoTime() - start > maxWait.toNanos()) {
                throw new StorageException(Problem.TOOMANYREQUESTS, "repository " + repository + " is locked by another replica ("
                        + other.owner() + ", lease until " + other.expires() + "); gave up after " + maxWait.toMillis()
                        + " ms, try again");
            }
            sleep(ThreadLocalRandom.current().nextLong(backoffMillis / 2, backoffMillis + 1));
            backoffMillis = Math.min(250, backoffMillis * 2);
        }
    }

    /** Extends a held lease by another {@code lease}, conditionally on its ETag; a lease lost meanwhile is left alone. */
    private void renew(RepositoryName repository, Held h) {
        synchronized (h) {
            if (h.released) {
                return;
            }
            try {
                String next = store.putIfMatch(key(repository), body(clock.instant().plus(lease)), h.etag);
                if (next == null) {
                    log.warn("{}: the lock's lease was broken by another replica while this one held it", repository);
                    h.released = true;
                    if (h.renewal != null) {
                        h.renewal.cancel(false);
                    }
                    return;
                }
                h.etag = next;
            } catch (StorageException e) {
                log.warn("{}: cannot renew the lock's lease ({}); trying again", repository, e.getMessage());
            }
        }
    }

    private void release(RepositoryName repository, Held h) {
        String etag;
        synchronized (h) {
            if (h.renewal != null) {
                h.renewal.cancel(false);
            }
            if (h.released) {
                return; // lost to another replica: nothing of ours to delete
            }
            h.released = true;
            etag = h.etag;
        }
        try {
            if (!store.deleteIfMatch(key(repository), etag)) {
                log.warn("{}: the lock's lease was broken by another replica before this one released it", repository);
            }
        } catch (StorageException e) {
            // The lease runs out by itself; the next taker breaks it.
            log.warn("{}: cannot release the lock ({}); it expires within {}", repository, e.getMessage(), lease);
        }
    }

    /** Stops renewing leases; locks still held run out by themselves. */
    void close() {
        renewer.shutdownNow();
    }

    private byte[] body(Instant expires) {
        return ("owner=" + owner + "\nexpires=" + expires.toEpochMilli() + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** A lock object's body: who holds it, until when. */
    record Lease(String owner, Instant expires) {
        static @Nullable Lease parse(byte[] body) {
            String owner = null;
            Instant expires = null;
            for (String line : new String(body, StandardCharsets.UTF_8).split("\n")) {
                if (line.startsWith("owner=")) {
                    owner = line.substring(6);
                } else if (line.startsWith("expires=")) {
                    try {
                        expires = Instant.ofEpochMilli(Long.parseLong(line.substring(8).strip()));
                    } catch (NumberFormatException e) {
                        return null;
                    }
                }
            }
            return owner == null || expires == null ? null : new Lease(owner, expires);
        }
    }

    private ReentrantLock stripe(RepositoryName repository) {
        int h = repository.value().hashCode();
        return stripes[(h ^ (h >>> 16)) & (STRIPES - 1)];
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException(Problem.STORAGE_FAILED, "interrupted while waiting for a repository's lock", e);
        }
    }
}
