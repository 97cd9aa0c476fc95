package io.berth.storage;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.jspecify.annotations.Nullable;

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
 * <p>The staging buffers, the writer threads and whether direct I/O works belong to the storage ({@link UploadIo}).
 * Where the volume refuses {@code O_DIRECT} (ramfs, some FUSE and network filesystems) that storage's files fall
 * back to the page cache for good. A refusal is told from a failing disk by what happens next, not by the error's
 * text: a direct open that fails with the generic {@code FileSystemException} (the JDK's {@code EINVAL}) right
 * after the same file opened without it, or a direct write whose bytes the page cache then takes. A write that
 * fails both ways ({@code ENOSPC}, {@code EIO}) fails the request, and after it nothing more is written: the file
 * keeps the unbroken prefix it has, for the upload to resume from.
 */
final class UploadFile implements Closeable {
    /** Uploads smaller than this never use direct I/O: small blobs and manifests stay cheap. */
    static final long DIRECT_FROM = 4L << 20;
    /** Direct writes are aligned to this; it is a multiple of every common logical block size. */
    static final int BLOCK = 4096;
    /** Bytes per direct write. */
    static final int STAGING = 2 << 20;

    private final UploadIo io;
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

    /** Set when a write failed: from then on nothing more is written, so the file stays an unbroken prefix. */
    private boolean broken;

    UploadFile(UploadIo io, Path path) throws IOException {
        this.io = io;
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
        requireIntact();
        long total = 0;
        for (ByteBuffer b : buffers) {
            total += b.remaining();
        }
        if (direct == null && size + total >= DIRECT_FROM) {
            enterDirectMode();
        }
        if (direct == null) {
            long written = 0;
            try {
                while (written < total) {
                    written += cached.write(buffers);
                }
            } catch (IOException e) {
                broken = true;
                throw e;
            }
            size += total;
            return;
        }
        for (ByteBuffer src : buffers) {
            while (src.hasRemaining()) {
                ByteBuffer fill = java.util.Objects.requireNonNull(filling, "direct mode stages into a buffer");
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
        try {
            cached.force(false);
        } catch (IOException e) {
            broken = true;
            throw e;
        }
    }

    /**
     * Writes what is staged, so that the file holds every appended byte, and closes. After a failed write it
     * only closes, and fails: the file then holds fewer bytes than were appended.
     */
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

    private void requireIntact() throws IOException {
        if (broken) {
            throw new IOException("an earlier write to " + path + " failed; the upload resumes from what the file holds");
        }
    }

    private void enterDirectMode() throws IOException {
        if (!io.directAllowed()) {
            return;
        }
        ByteBuffer a = io.acquire();
        ByteBuffer b = a == null ? null : io.acquire();
        if (a == null || b == null) {
            io.release(a);
            return;
        }
        try {
            direct = FileChannel.open(path, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
        } catch (UnsupportedOperationException e) {
            io.refuse(path, e); // this JDK has no O_DIRECT here
        } catch (FileSystemException e) {
            // The file opened a moment ago without O_DIRECT. The JDK raises this generic type for EINVAL, the refusal;
            // its subclasses (no such file, access denied ...) are about the file, not the volume.
            if (e.getClass() == FileSystemException.class) {
                io.refuse(path, e);
            }
        } catch (IOException e) {
            // Anything else (the JDK could not set up direct I/O for this file): this file is written through the page cache.
        }
        if (direct == null) {
            io.release(a);
            io.release(b);
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
        ByteBuffer full = java.util.Objects.requireNonNull(filling, "direct mode stages into a buffer").flip();
        long at = fillStart;
        FileChannel ch = direct;
        inFlight = CompletableFuture.runAsync(() -> writeFully(ch, full, at), io.writers());
        fillStart += full.limit();
        filling = java.util.Objects.requireNonNull(spare, "direct mode has a spare buffer").clear();
        spare = full;
        inFile = 0;
    }

    /** Writes the whole blocks staged directly and the rest through the page cache; direct mode stays on. */
    private void drain() throws IOException {
        awaitInFlight();
        requireIntact();
        ByteBuffer fill = filling;
        if (fill == null || fill.position() == inFile) {
            return;
        }
        int whole = fill.position() - fill.position() % BLOCK;
        int end = fill.position();
        try {
            if (whole > 0) {
                writeFully(direct, fill.duplicate().position(0).limit(whole), fillStart);
            }
            if (end > whole) {
                writeAt(cached, fill.duplicate().position(whole).limit(end), fillStart + whole);
            }
        } catch (UncheckedIOException e) {
            broken = true;
            throw e.getCause();
        } catch (IOException e) {
            broken = true;
            throw e;
        }
        // Keep the partial block staged: the next bytes complete it, and it is rewritten whole.
        fill.put(0, fill, whole, end - whole).position(end - whole);
        fillStart += whole;
        inFile = end - whole;
    }

    /**
     * Writes {@code src} at {@code at}, directly when it can. A direct write that fails is tried again through the
     * page cache: if that works, the volume refused the direct write, and the storage stops trying; if it fails too,
     * the disk did (no space, an I/O error), and that failure is thrown.
     */
    private void writeFully(@Nullable FileChannel ch, ByteBuffer src, long at) {
        try {
            if (ch != null && io.directAllowed()) {
                try {
                    writeAt(ch, src.duplicate(), at);
                    io.wroteDirect(src.remaining());
                    return;
                } catch (IOException e) {
                    try {
                        writeAt(cached, src.duplicate(), at);
                    } catch (IOException again) {
                        again.addSuppressed(e);
                        throw again;
                    }
                    io.refuse(path, e);
                    return;
                }
            }
            writeAt(cached, src.duplicate(), at);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes all of {@code src}, from its position, at {@code at} in the file. */
    private static void writeAt(FileChannel ch, ByteBuffer src, long at) throws IOException {
        int from = src.position();
        while (src.hasRemaining()) {
            ch.write(src, at + src.position() - from);
        }
    }

    private void awaitInFlight() throws IOException {
        try {
            inFlight.get();
        } catch (ExecutionException e) {
            broken = true;
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
        io.release(filling);
        io.release(spare);
        filling = null;
        spare = null;
    }
}
