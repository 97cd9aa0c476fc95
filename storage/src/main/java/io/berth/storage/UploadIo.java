package io.berth.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One storage's upload I/O ({@link UploadFile}): its pool of aligned staging buffers, its page-cache warmer, and
 * whether its volume takes direct I/O. Each {@link RegistryStorage} has its own, so a volume that refuses
 * {@code O_DIRECT} (ramfs, some FUSE and network filesystems) turns direct writes off for that storage only, and
 * another storage in the same JVM (an embedded Berth beside the real one) keeps them.
 *
 * <p>The writer threads are shared by every storage: they hold nothing but the write they run. The warmer's one
 * thread ends when it has been idle a while, so a storage that is dropped leaves no thread behind.
 */
final class UploadIo {
    private static final Logger log = LoggerFactory.getLogger(UploadIo.class);

    /** Staging buffers kept for reuse, two per upload in direct mode; more uploads than that use the page cache. */
    static final int POOLED = 16;
    private static final int WARM_BUFFER = 1 << 20;

    private static final ExecutorService WRITERS = Executors.newCachedThreadPool(Thread.ofPlatform()
            .name("berth-upload-writer-", 0).daemon(true).factory());

    private final ArrayBlockingQueue<ByteBuffer> pool = new ArrayBlockingQueue<>(POOLED);
    private final AtomicInteger allocated = new AtomicInteger();
    /** Reads blobs written around the page cache back into it, one at a time; a full queue drops the request. */
    private final ThreadPoolExecutor warmer;
    /** Used by the warmer's one thread at a time; made on the first warm. */
    private volatile @Nullable ByteBuffer warmBuffer;
    private volatile boolean directAllowed;
    private volatile boolean directRefused;
    private final AtomicLong directBytes = new AtomicLong();

    UploadIo(boolean directAllowed) {
        this.directAllowed = directAllowed;
        this.warmer = new ThreadPoolExecutor(1, 1, 10, TimeUnit.SECONDS, new ArrayBlockingQueue<>(4),
                Thread.ofPlatform().name("berth-blob-warmer").daemon(true).factory(), new ThreadPoolExecutor.DiscardPolicy());
        warmer.allowCoreThreadTimeOut(true);
    }

    /** Direct I/O on unless the system property {@code berth.storage.noDirectIo} is true. */
    static UploadIo withDefaults() {
        return new UploadIo(!Boolean.getBoolean("berth.storage.noDirectIo"));
    }

    /** Turns direct I/O on or off for files opened later. */
    void allowDirect(boolean allowed) {
        directAllowed = allowed;
    }

    /** Whether files opened now may try direct I/O. */
    boolean directAllowed() {
        return directAllowed && !directRefused;
    }

    /** True once this storage's volume refused a direct open or write. */
    boolean directRefused() {
        return directRefused;
    }

    /** Bytes this storage has written with {@code O_DIRECT}. */
    long directBytes() {
        return directBytes.get();
    }

    void wroteDirect(long bytes) {
        directBytes.addAndGet(bytes);
    }

    /** From now on this storage's uploads are written through the page cache. */
    void refuse(Path where, Throwable e) {
        if (!directRefused) {
            directRefused = true;
            log.info("direct I/O refused under {} ({}); uploads there are written through the page cache", where.getParent(), e.toString());
        }
    }

    Executor writers() {
        return WRITERS;
    }

    /** A staging buffer of {@link UploadFile#STAGING} bytes aligned to {@link UploadFile#BLOCK}, or null when the pool is spent. */
    @Nullable ByteBuffer acquire() {
        ByteBuffer b = pool.poll();
        if (b != null) {
            return b;
        }
        if (allocated.incrementAndGet() > POOLED) {
            allocated.decrementAndGet();
            return null;
        }
        try {
            return ByteBuffer.allocateDirect(UploadFile.STAGING + UploadFile.BLOCK).alignedSlice(UploadFile.BLOCK)
                    .limit(UploadFile.STAGING).slice();
        } catch (OutOfMemoryError e) {
            // -XX:MaxDirectMemorySize is smaller than the pool in a small pod: this upload uses the page cache.
            allocated.decrementAndGet();
            return null;
        }
    }

    void release(@Nullable ByteBuffer b) {
        if (b != null) {
            pool.offer(b.clear());
        }
    }

    /**
     * Reads {@code file} into the page cache in the background. A blob that was written around the page
     * cache is read back, because a freshly pushed layer is usually pulled soon (a rollout pulls it on
     * every node at once), and its first pull should not wait for the disk.
     */
    void warm(Path file) {
        warmer.execute(() -> {
            ByteBuffer buf = warmBuffer;
            if (buf == null) {
                buf = ByteBuffer.allocateDirect(WARM_BUFFER);
                warmBuffer = buf;
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long at = 0;
                int n;
                while ((n = ch.read(buf.clear(), at)) > 0) {
                    at += n;
                }
            } catch (IOException e) {
                // deleted or moved meanwhile: nothing to warm
            }
        });
    }
}
