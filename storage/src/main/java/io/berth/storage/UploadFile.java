package io.berth.storage;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends to an upload's data file, for one request. The first {@link #DIRECT_FROM} bytes of a file go
 * through the page cache. Past them, whole blocks go straight to the disk ({@code O_DIRECT}) from two
 * aligned staging buffers: one fills while a background thread writes the other, so the disk works
 * while the caller hashes the next bytes.
 *
 * <p>Why: on the benchmark machine the kernel's copy into the page cache cost about 1 s of CPU per
 * GiB pushed, and the fsync at commit another 0.5 s of waiting, both on the request's path; direct
 * writes cost 0.15 s of CPU per GiB and leave nothing for the commit to flush. A pushed layer also
 * no longer fills the pod's memory cgroup with dirty pages. The bytes of the last, partial block are
 * written through the page cache when the request ends ({@link #close}), so the file always holds
 * every byte the client was told about, and the next request rewrites that block whole.
 *
 * <p>Where {@code O_DIRECT} is refused (tmpfs, some FUSE and network filesystems) the file falls back
 * to the page cache for good, and so does every later upload once one was refused.
 */
final class UploadFile implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(UploadFile.class);

    /** Uploads smaller than this never use direct I/O: small blobs and manifests stay cheap. */
    static final long DIRECT_FROM = 4L << 20;
    /** Direct writes are aligned to this; it is a multiple of every common logical block size. */
    static final int BLOCK = 4096;
    /** Bytes per direct write. */
    static final int STAGING = 2 << 20;
    /** Staging buffers kept for reuse, two per upload in direct mode; more uploads than that use the page cache. */
    static final int POOLED = 16;

    private static final ArrayBlockingQueue<ByteBuffer> pool = new ArrayBlockingQueue<>(POOLED);
    private static final AtomicInteger allocated = new AtomicInteger();
    private static final ExecutorService writers = Executors.newCachedThreadPool(Thread.ofPlatform()
            .name("berth-upload-writer-", 0).daemon(true).factory());
    /** Reads blobs written around the page cache back into it, one at a time; a full queue drops the request. */
    private static final ExecutorService warmer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(4),
            Thread.ofPlatform().name("berth-blob-warmer").daemon(true).factory(), new ThreadPoolExecutor.DiscardPolicy());
    /** Used by the warmer's one thread only. */
    private static final ByteBuffer WARM_BUFFER = ByteBuffer.allocateDirect(1 << 20);
    private static volatile boolean directAllowed = !Boolean.getBoolean("berth.storage.noDirectIo");
    private static volatile boolean directRefused;

    private final Path path;
    private final FileChannel cached;
    /** Bytes appended so far, written or still staged. */
    private long size;

    // Direct mode: filling holds the file's bytes from fillStart (block-aligned) up to size.
    private @Nullable FileChannel direct;
    private @Nullable ByteBuffer filling;
    private @Nullable ByteBuffer spare;
    private long fillStart;
    private CompletableFuture<Void> inFlight = CompletableFuture.completedFuture(null);
    private boolean wentDirect;
    /** How many bytes at the start of {@code filling} are already in the file. */
    private int inFile;

    UploadFile(Path path) throws IOException {
        this.path = path;
        this.cached = FileChannel.open(path, StandardOpenOption.WRITE, StandardOpenOption.READ, StandardOpenOption.CREATE);
        this.size = cached.size();
        cached.position(size);
    }

    long size() {
        return size;
    }

    /** Appends {@code buffers} in order, consuming them. */
    void append(ByteBuffer[] buffers) throws IOException {
        long total = 0;
        for (ByteBuffer b : buffers) {
            total += b.remaining();
        }
        if (direct == null && size + total >= DIRECT_FROM) {
            enterDirectMode();
        }
        if (direct == null) {
            long written = 0;
            while (written < total) {
                written += cached.write(buffers);
            }
            size += total;
            return;
        }
        for (ByteBuffer src : buffers) {
            while (src.hasRemaining()) {
                ByteBuffer fill = filling;
                int n = Math.min(src.remaining(), fill.remaining());
                fill.put(fill.position(), src, src.position(), n);
                fill.position(fill.position() + n);
                src.position(src.position() + n);
                size += n;
                if (!fill.hasRemaining()) {
                    writeFilling();
                }
            }
        }
    }

    /** Writes what is staged and makes every appended byte durable. */
    void force() throws IOException {
        drain();
        cached.force(false);
    }

    /** Writes what is staged, so that the file holds every appended byte, and closes. */
    @Override
    public void close() throws IOException {
        try {
            drain();
        } finally {
            try {
                cached.close();
            } finally {
                leaveDirectMode();
            }
        }
    }

    /** Closes without waiting for staged bytes; the file may then hold fewer bytes than were appended. */
    void abandon() {
        try {
            awaitInFlight();
        } catch (IOException e) {
            // the caller rehashes from the file
        }
        try {
            cached.close();
        } catch (IOException e) {
            // nothing to keep
        }
        leaveDirectMode();
    }

    /** Whether this file's whole blocks currently go straight to the disk. */
    boolean isDirect() {
        return direct != null;
    }

    /** Whether any of this file's bytes bypassed the page cache. */
    boolean wentDirect() {
        return wentDirect;
    }

    /**
     * Reads {@code file} into the page cache in the background. A blob that was written around the page
     * cache is read back, because a freshly pushed layer is usually pulled soon (a rollout pulls it on
     * every node at once), and its first pull should not wait for the disk.
     */
    static void warm(Path file) {
        warmer.execute(() -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long at = 0;
                int n;
                while ((n = ch.read(WARM_BUFFER.clear(), at)) > 0) {
                    at += n;
                }
            } catch (IOException e) {
                // deleted or moved meanwhile: nothing to warm
            }
        });
    }

    /** Turns direct I/O on or off for files opened later (the property berth.storage.noDirectIo turns it off at start). */
    static void allowDirectIo(boolean allowed) {
        directAllowed = allowed;
    }

    /** False once a filesystem refused a direct open or write. */
    static boolean directIoRefused() {
        return directRefused;
    }

    private void enterDirectMode() throws IOException {
        if (!directAllowed || directRefused) {
            return;
        }
        ByteBuffer a = acquire();
        ByteBuffer b = a == null ? null : acquire();
        if (b == null) {
            release(a);
            return;
        }
        try {
            direct = FileChannel.open(path, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
            refuse(e);
            release(a);
            release(b);
            return;
        }
        filling = a;
        spare = b;
        wentDirect = true;
        // The partial block at the end of the file is staged again and rewritten whole.
        fillStart = size - size % BLOCK;
        inFile = (int) (size - fillStart);
        a.clear().limit(inFile);
        while (a.hasRemaining()) {
            if (cached.read(a, fillStart + a.position()) < 0) {
                throw new IOException("upload file shrank under " + path);
            }
        }
        a.limit(a.capacity());
    }

    /** Hands the full staging buffer to a writer thread, after the previous one has finished. */
    private void writeFilling() throws IOException {
        awaitInFlight();
        ByteBuffer full = filling.flip();
        long at = fillStart;
        FileChannel ch = direct;
        inFlight = CompletableFuture.runAsync(() -> writeFully(ch, full, at), writers);
        fillStart += full.limit();
        filling = spare.clear();
        spare = full;
        inFile = 0;
    }

    /** Writes the whole blocks staged directly and the rest through the page cache; direct mode stays on. */
    private void drain() throws IOException {
        awaitInFlight();
        ByteBuffer fill = filling;
        if (fill == null || fill.position() == inFile) {
            return;
        }
        int whole = fill.position() - fill.position() % BLOCK;
        int end = fill.position();
        if (whole > 0) {
            writeFully(direct, fill.duplicate().position(0).limit(whole), fillStart);
        }
        if (end > whole) {
            ByteBuffer tail = fill.duplicate().position(whole).limit(end);
            while (tail.hasRemaining()) {
                cached.write(tail, fillStart + tail.position());
            }
        }
        // Keep the partial block staged: the next bytes complete it, and it is rewritten whole.
        fill.put(0, fill, whole, end - whole).position(end - whole);
        fillStart += whole;
        inFile = end - whole;
    }

    private void writeFully(@Nullable FileChannel ch, ByteBuffer src, long at) {
        try {
            if (ch != null && !directRefused) {
                try {
                    writeAt(ch, src.duplicate(), at);
                    return;
                } catch (IOException e) {
                    if (!"Invalid argument".equals(e.getMessage())) {
                        throw e;
                    }
                    // EINVAL: this filesystem does not take these direct writes after all
                    refuse(e);
                }
            }
            writeAt(cached, src.duplicate(), at);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeAt(FileChannel ch, ByteBuffer src, long at) throws IOException {
        while (src.hasRemaining()) {
            ch.write(src, at + src.position());
        }
    }

    private void awaitInFlight() throws IOException {
        try {
            inFlight.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause();
            throw cause instanceof IOException io ? io : new IOException(cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while writing " + path);
        } finally {
            inFlight = CompletableFuture.completedFuture(null);
        }
    }

    private void leaveDirectMode() {
        if (direct != null) {
            try {
                direct.close();
            } catch (IOException e) {
                // the page-cache channel owns the file's state
            }
            direct = null;
        }
        release(filling);
        release(spare);
        filling = null;
        spare = null;
    }

    private static void refuse(Exception e) {
        if (!directRefused) {
            directRefused = true;
            log.info("direct I/O refused ({}); uploads are written through the page cache", e.toString());
        }
    }

    private static @Nullable ByteBuffer acquire() {
        ByteBuffer b = pool.poll();
        if (b != null) {
            return b;
        }
        if (allocated.incrementAndGet() > POOLED) {
            allocated.decrementAndGet();
            return null;
        }
        try {
            return ByteBuffer.allocateDirect(STAGING + BLOCK).alignedSlice(BLOCK).limit(STAGING).slice();
        } catch (OutOfMemoryError e) {
            // -XX:MaxDirectMemorySize is smaller than the pool in a small pod: this upload uses the page cache.
            allocated.decrementAndGet();
            return null;
        }
    }

    private static void release(@Nullable ByteBuffer b) {
        if (b != null) {
            pool.offer(b.clear());
        }
    }
}
