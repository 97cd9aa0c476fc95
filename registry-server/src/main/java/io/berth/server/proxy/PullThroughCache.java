package io.berth.server.proxy;

import io.berth.storage.Digest;
import io.berth.storage.Problem;
import io.berth.storage.Reference;
import io.berth.storage.RegistryStorage;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import io.berth.storage.StoredManifest;
import io.berth.storage.Tag;
import io.berth.storage.Upload;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * registry:2's pull-through cache in front of {@link RegistryStorage}, in registry:2's layout: what is pulled is
 * fetched from the {@link Upstream} once, verified, stored as if it had been pushed, and served from storage after.
 *
 * <ul>
 *   <li>A manifest named by digest, and every blob, is fetched once and kept: content named by its digest cannot
 *       change.
 *   <li>A tag is asked of the upstream (a HEAD, then a GET only if the digest changed) unless it was asked within
 *       {@code ttl}. When the upstream cannot be reached, the cached tag is served.
 *   <li>A blob is streamed from the upstream into an upload and committed under its digest, which verifies it: bytes
 *       that do not hash to the digest are never stored. Requests for a blob being fetched wait for that fetch
 *       instead of starting another. An upstream that sends nothing for {@code stallTimeout} is given up on.
 * </ul>
 */
public final class PullThroughCache implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PullThroughCache.class);
    private static final int CHUNK = 1 << 20;

    /** The upstream could not answer, and nothing cached could instead. */
    public static final class UnavailableException extends RuntimeException {
        UnavailableException(String message, @Nullable Throwable cause) {
            super(message, cause);
        }
    }

    private final String prefix;
    private final RegistryStorage storage;
    private final Upstream upstream;
    private final Duration ttl;
    private final Duration stallTimeout;
    private final Clock clock;
    private final Map<String, Instant> tagsAsked = new ConcurrentHashMap<>();
    private final Map<Digest, CompletableFuture<Void>> fetching = new ConcurrentHashMap<>();
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("berth-proxy-watchdog").factory());
    private final AtomicLong blobFetches = new AtomicLong();

    /**
     * A cache of {@code upstream} for the repositories under {@code prefix} ("" for all of them); {@code
     * prefix/library/nginx} is the upstream's {@code library/nginx}.
     */
    public PullThroughCache(String prefix, RegistryStorage storage, Upstream upstream, Duration ttl, Duration stallTimeout, Clock clock) {
        this.prefix = prefix.isEmpty() ? "" : prefix + "/";
        this.storage = storage;
        this.upstream = upstream;
        this.ttl = ttl;
        this.stallTimeout = stallTimeout;
        this.clock = clock;
    }

    /** Whether {@code repository} is one this cache serves. */
    public boolean covers(RepositoryName repository) {
        return repository.value().startsWith(prefix);
    }

    /** {@code repository}'s name at the upstream. */
    private String upstreamName(RepositoryName repository) {
        return repository.value().substring(prefix.length());
    }

    /** The manifest {@code reference} of {@code repository}, from the cache or fetched; MANIFEST_UNKNOWN when neither has it. */
    public StoredManifest manifest(RepositoryName repository, Reference reference, String accept) {
        return switch (reference) {
            case Reference.ByDigest d -> byDigest(repository, d, accept);
            case Reference.ByTag t -> byTag(repository, t, accept);
        };
    }

    private StoredManifest byDigest(RepositoryName repository, Reference.ByDigest d, String accept) {
        StoredManifest local = local(repository, d);
        if (local != null) {
            return local;
        }
        Upstream.Manifest m;
        try {
            m = upstream.manifest(upstreamName(repository), d.digest().toString(), accept);
        } catch (IOException e) {
            throw unavailable("manifest " + repository + "@" + d.digest(), e);
        }
        if (m == null) {
            throw new StorageException(Problem.MANIFEST_UNKNOWN, "manifest unknown upstream: " + repository + "@" + d.digest());
        }
        return store(repository, m, List.of());
    }

    private StoredManifest byTag(RepositoryName repository, Reference.ByTag t, String accept) {
        String key = repository + ":" + t.tag().value();
        Instant asked = tagsAsked.get(key);
        StoredManifest local = local(repository, t);
        if (local != null && asked != null && clock.instant().isBefore(asked.plus(ttl))) {
            return local;
        }
        try {
            Upstream.Manifest m = upstream.manifest(upstreamName(repository), t.tag().value(), accept);
            if (m == null) {
                throw new StorageException(Problem.MANIFEST_UNKNOWN, "manifest unknown upstream: " + repository + ":" + t.tag().value());
            }
            StoredManifest stored = local != null && local.digest().equals(m.digest()) ? local : store(repository, m, List.of(t.tag()));
            tagsAsked.put(key, clock.instant());
            return stored;
        } catch (IOException e) {
            if (local != null) {
                log.warn("proxy: serving the cached {} (the upstream {} failed: {})", key, upstream.base(), e.getMessage());
                return local;
            }
            throw unavailable("manifest " + key, e);
        }
    }

    /**
     * The tags of {@code repository} as the upstream lists them, in byte order, as registry:2's proxy answers; the
     * cached ones when the upstream cannot be reached. Null when neither knows the repository.
     */
    public java.util.@Nullable List<String> tags(RepositoryName repository) {
        try {
            List<String> remote = upstream.tags(upstreamName(repository), 100_000);
            return remote == null ? null : remote.stream().sorted().toList();
        } catch (IOException e) {
            log.warn("proxy: listing the cached tags of {} (the upstream {} failed: {})", repository, upstream.base(), e.getMessage());
            return null;
        }
    }

    private @Nullable StoredManifest local(RepositoryName repository, Reference reference) {
        try {
            return storage.getManifest(repository, reference);
        } catch (StorageException e) {
            if (e.problem() == Problem.MANIFEST_UNKNOWN || e.problem() == Problem.NAME_UNKNOWN) {
                return null;
            }
            throw e;
        }
    }

    private StoredManifest store(RepositoryName repository, Upstream.Manifest m, List<Tag> tags) {
        return storage.cacheManifest(repository, m.content(), m.mediaType().isEmpty() ? null : m.mediaType(), m.digest(), tags);
    }

    /**
     * The size of blob {@code digest} for a HEAD: stored (linked into {@code repository} if another repository fetched
     * it), or as the upstream says without fetching it; BLOB_UNKNOWN when neither has it.
     */
    public long blobSize(RepositoryName repository, Digest digest) {
        long size = linkedHere(repository, digest);
        if (size >= 0) {
            return size;
        }
        try {
            long upstreamSize = upstream.blobLength(upstreamName(repository), digest);
            if (upstreamSize < 0) {
                throw new StorageException(Problem.BLOB_UNKNOWN, "blob unknown upstream: " + digest);
            }
            // Stored for another repository, and the upstream has it here too: linked now, not fetched again.
            return storage.hasBlob(digest) ? storage.mountBlob(repository, null, digest) : upstreamSize;
        } catch (IOException e) {
            throw unavailable("blob " + digest, e);
        }
    }

    /**
     * The first puller's response body while the blob is fetched: it gets the bytes as they arrive, except the last
     * chunk, which is sent only once the whole blob has hashed to its digest, so a client never receives a complete
     * body of bytes that are not the blob.
     */
    public interface Receiver {
        /** The next bytes, in order; may block while the client is slow. False once the client is gone. */
        boolean bytes(ByteBuffer chunk);

        /** Every byte was sent, and the blob is stored. */
        void end();

        /** The fetch failed: the response must be cut short. */
        void fail(Exception cause);
    }

    /**
     * For a GET of blob {@code digest}: false once it is stored and linked into {@code repository} (fetched now if
     * the upstream does not say its length, or by a pull that was already fetching it); true when this call started
     * fetching it and streams it to the receiver that {@code open} makes for the length the upstream announced.
     */
    public boolean streamOrStore(RepositoryName repository, Digest digest, java.util.function.LongFunction<Receiver> open) {
        return fetch(repository, digest, open);
    }

    /** Makes sure blob {@code digest} is stored and linked into {@code repository}, fetching it (once) if needed. */
    public void ensureBlob(RepositoryName repository, Digest digest) {
        fetch(repository, digest, null);
    }

    /** {@link #streamOrStore}; without {@code open}, nothing is streamed and the fetch is done before returning. */
    private boolean fetch(RepositoryName repository, Digest digest, java.util.function.@Nullable LongFunction<Receiver> open) {
        while (linked(repository, digest) < 0) {
            CompletableFuture<Void> mine = new CompletableFuture<>();
            CompletableFuture<Void> running = fetching.putIfAbsent(digest, mine);
            if (running != null) {
                try {
                    running.join(); // then loop: linked by the fetch, or by a mount of what it stored
                } catch (CompletionException e) {
                    throw e.getCause() instanceof RuntimeException r ? r : e;
                }
                continue;
            }
            Receiver receiver = null;
            try {
                blobFetches.incrementAndGet();
                Upstream.Blob blob = open(repository, digest);
                if (open != null && blob.length() >= 0) {
                    Receiver streaming = open.apply(blob.length());
                    receiver = streaming;
                    Thread.ofPlatform().daemon().name("berth-proxy-fetch").start(() -> {
                        try {
                            copy(repository, digest, blob, streaming);
                            mine.complete(null);
                        } catch (RuntimeException e) {
                            streaming.fail(e);
                            mine.completeExceptionally(e);
                        } finally {
                            fetching.remove(digest, mine);
                        }
                    });
                    return true;
                }
                copy(repository, digest, blob, null);
                mine.complete(null);
            } catch (RuntimeException e) {
                mine.completeExceptionally(e);
                throw e;
            } finally {
                if (receiver == null) {
                    fetching.remove(digest, mine);
                }
            }
        }
        return false;
    }

    /**
     * The blob's size when stored and linked into {@code repository}, else -1. A blob stored for another repository is
     * linked here only once the upstream says this repository has it too (a HEAD, not a second download): a name the
     * upstream does not have never gets content.
     */
    private long linked(RepositoryName repository, Digest digest) {
        try {
            return storage.blobSize(repository, digest);
        } catch (StorageException e) {
            if (e.problem() != Problem.BLOB_UNKNOWN && e.problem() != Problem.NAME_UNKNOWN) {
                throw e;
            }
        }
        if (!storage.hasBlob(digest)) {
            return -1;
        }
        long upstreamSize;
        try {
            upstreamSize = upstream.blobLength(upstreamName(repository), digest);
        } catch (IOException e) {
            throw unavailable("blob " + digest, e);
        }
        if (upstreamSize < 0) {
            throw new StorageException(Problem.BLOB_UNKNOWN, "blob unknown upstream: " + repository + "@" + digest);
        }
        return storage.mountBlob(repository, null, digest);
    }

    /** Like {@link #linked}, without linking anything: stored and linked, else -1. */
    private long linkedHere(RepositoryName repository, Digest digest) {
        try {
            return storage.blobSize(repository, digest);
        } catch (StorageException e) {
            if (e.problem() != Problem.BLOB_UNKNOWN && e.problem() != Problem.NAME_UNKNOWN) {
                throw e;
            }
            return -1;
        }
    }

    private Upstream.Blob open(RepositoryName repository, Digest digest) {
        Upstream.Blob blob;
        try {
            blob = upstream.blob(upstreamName(repository), digest);
        } catch (IOException e) {
            throw unavailable("blob " + digest, e);
        }
        if (blob == null) {
            throw new StorageException(Problem.BLOB_UNKNOWN, "blob unknown upstream: " + digest);
        }
        return blob;
    }

    /**
     * Copies the upstream's bytes into an upload and commits it under {@code digest}, handing them to {@code receiver},
     * if any, one chunk behind: the last chunk goes out only once the commit has verified the whole blob.
     */
    private void copy(RepositoryName repository, Digest digest, Upstream.Blob blob, @Nullable Receiver receiver) {
        AtomicLong lastProgress = new AtomicLong(System.nanoTime());
        ScheduledFuture<?> stalls = watchdog.scheduleAtFixedRate(() -> {
            if (System.nanoTime() - lastProgress.get() > stallTimeout.toNanos()) {
                try {
                    blob.close(); // unblocks the read below, which fails
                } catch (IOException e) {
                    // closing anyway
                }
            }
        }, stallTimeout.toMillis() / 4 + 1, stallTimeout.toMillis() / 4 + 1, TimeUnit.MILLISECONDS);
        Upload upload = storage.startUpload(repository);
        boolean committed = false;
        boolean listening = receiver != null;
        try (blob) {
            InputStream in = blob.content();
            byte[] buffer = new byte[CHUNK];
            byte[] held = new byte[CHUNK];
            int heldLength = 0;
            for (int n; (n = in.read(buffer)) >= 0; ) {
                lastProgress.set(System.nanoTime());
                if (n == 0) {
                    continue;
                }
                upload.write(new ByteBuffer[] {ByteBuffer.wrap(buffer, 0, n)}, Long.MAX_VALUE);
                if (listening && receiver != null && heldLength > 0) {
                    listening = receiver.bytes(ByteBuffer.wrap(held, 0, heldLength));
                    lastProgress.set(System.nanoTime()); // a slow client is not a stalled upstream
                }
                byte[] swap = held;
                held = buffer;
                buffer = swap;
                heldLength = n;
            }
            if (blob.length() >= 0 && upload.size() != blob.length()) {
                throw new IOException("upstream sent " + upload.size() + " of the " + blob.length() + " bytes it announced");
            }
            try {
                upload.commit(digest);
            } catch (StorageException e) {
                if (e.problem() == Problem.DIGEST_INVALID) {
                    throw unavailable("blob " + digest + ": the upstream sent other content (" + e.getMessage() + "); nothing was stored", null);
                }
                throw e;
            }
            committed = true;
            if (listening && receiver != null) {
                if (heldLength > 0) {
                    receiver.bytes(ByteBuffer.wrap(held, 0, heldLength));
                }
                receiver.end();
            }
        } catch (IOException e) {
            throw unavailable("blob " + digest + " (" + upload.size() + " bytes fetched)", e);
        } finally {
            stalls.cancel(false);
            if (!committed) {
                upload.cancel();
            }
        }
    }

    private UnavailableException unavailable(String what, @Nullable Throwable cause) {
        String message = "the upstream " + upstream.base() + " could not serve " + what + (cause == null ? "" : ": " + cause.getMessage());
        log.warn("proxy: {}", message);
        return new UnavailableException(message, cause);
    }

    /** How many blob fetches from the upstream were started. */
    public long blobFetches() {
        return blobFetches.get();
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
        upstream.close();
    }
}
