package io.berth.storage;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One request's exclusive hold on a resumable blob upload. Bytes are appended to the upload's file
 * ({@link UploadFile}: at most two staging buffers in flight) while the SHA-256 state advances, so the
 * blob is never held in memory. Closing the
 * handle keeps the upload for the next request; {@link #commit} and {@link #cancel} end it.
 */
public final class Upload implements Closeable {
    private final Uploads owner;
    private final RepositoryName repository;
    private final String id;
    private final Uploads.State state;
    private final Path dir;
    private final UploadFile file;
    private boolean open = true;

    Upload(Uploads owner, RepositoryName repository, String id, Uploads.State state, Path dir) throws IOException {
        this.owner = owner;
        this.repository = repository;
        this.id = id;
        this.state = state;
        this.dir = dir;
        this.file = new UploadFile(dir.resolve(Layout.DATA));
        long size = file.size();
        if (state.hashedBytes != size) {
            try {
                state.rehash(dir.resolve(Layout.DATA), size);
            } catch (IOException | RuntimeException e) {
                file.abandon();
                throw e;
            }
        }
    }

    public String id() {
        return id;
    }

    public RepositoryName repository() {
        return repository;
    }

    /** Bytes received so far. */
    public long size() {
        return state.hashedBytes;
    }

    /**
     * Appends {@code buffers} in order. The caller must stop the upload from growing past its limit
     * before calling; {@code maxSize} is checked here too, before any byte is written.
     */
    public void write(ByteBuffer[] buffers, long maxSize) {
        requireOpen();
        long total = 0;
        for (ByteBuffer b : buffers) {
            total += b.remaining();
        }
        if (state.hashedBytes + total > maxSize) {
            throw new StorageException(Problem.SIZE_INVALID, "upload exceeds the limit of " + maxSize + " bytes");
        }
        for (ByteBuffer b : buffers) {
            state.sha256.update(b.duplicate());
        }
        try {
            file.append(buffers);
        } catch (IOException e) {
            // The file may now hold part of the chunk while the hash holds all of it: rehash next time.
            state.hashedBytes = -1;
            throw new UncheckedIOException(e);
        }
        state.hashedBytes += total;
    }

    /**
     * Verifies the upload against {@code expected}, moves it into the blob store and links it into the
     * repository. A mismatch cancels the upload and fails with DIGEST_INVALID.
     */
    public long commit(Digest expected) {
        requireOpen();
        try {
            file.force();
            file.close();
            Path data = dir.resolve(Layout.DATA);
            Digest actual;
            if (expected.algorithm() == DigestAlgorithm.SHA256) {
                actual = Digest.of(DigestAlgorithm.SHA256, state.sha256.digest());
            } else {
                actual = Uploads.hash(data, expected.algorithm());
            }
            long size = state.hashedBytes;
            if (!actual.equals(expected)) {
                cancel();
                throw new StorageException(Problem.DIGEST_INVALID,
                        "digest mismatch: computed " + actual + " for " + size + " bytes, expected " + expected);
            }
            owner.blobs().adopt(data, expected);
            owner.blobs().link(repository, expected);
            finish();
            if (file.wentDirect()) {
                UploadFile.warm(owner.blobs().dataPath(expected));
            }
            return size;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Discards the upload and everything written to it. */
    public void cancel() {
        if (!open) {
            return;
        }
        file.abandon();
        finish();
    }

    private void finish() {
        open = false;
        owner.forget(dir);
        FileTrees.delete(dir);
        state.permit.release();
    }

    /** Releases this request's hold; the upload stays resumable. */
    @Override
    public void close() {
        if (!open) {
            return;
        }
        open = false;
        try {
            file.close();
        } catch (IOException e) {
            // The file may hold fewer bytes than were hashed: rehash next time.
            state.hashedBytes = -1;
        }
        state.permit.release();
    }

    private void requireOpen() {
        if (!open) {
            throw new IllegalStateException("upload " + id + " is closed");
        }
    }


    static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve(Layout.DATA));
    }
}
