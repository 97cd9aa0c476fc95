package io.berth.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;

/**
 * An upload on the filesystem. Bytes are appended to the upload's file ({@link UploadFile}: at most two staging
 * buffers in flight) while the SHA-256 state advances, so the blob is never held in memory.
 */
final class FileUpload implements Upload {
    private final Uploads owner;
    private final RepositoryName repository;
    private final String id;
    private final Uploads.State state;
    private final Path dir;
    private final UploadFile file;
    private boolean open = true;

    FileUpload(Uploads owner, RepositoryName repository, String id, Uploads.State state, Path dir) throws IOException {
        this.owner = owner;
        this.repository = repository;
        this.id = id;
        this.state = state;
        this.dir = dir;
        this.file = new UploadFile(owner.io(), dir.resolve(Layout.DATA));
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

    @Override
    public String id() {
        return id;
    }

    @Override
    public RepositoryName repository() {
        return repository;
    }

    /** Bytes received so far. */
    @Override
    public long size() {
        return state.hashedBytes;
    }

    /**
     * Appends {@code buffers} in order. The caller must stop the upload from growing past its limit
     * before calling; {@code maxSize} is checked here too, before any byte is written.
     */
    @Override
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
            throw IoFailures.of("writing to upload " + id, dir, e);
        }
        state.hashedBytes += total;
    }

    /**
     * Verifies the upload against {@code expected}, moves it into the blob store and links it into the
     * repository. A mismatch cancels the upload and fails with DIGEST_INVALID. When the disk fails (STORAGE_FULL,
     * STORAGE_FAILED) before the blob is stored, the upload stays, holding what its file holds, for the client to
     * complete again; once the blob is stored, the upload is gone whatever happens to the link.
     */
    @Override
    public long commit(Digest expected) {
        requireOpen();
        Path data = dir.resolve(Layout.DATA);
        long size = state.hashedBytes;
        Digest actual;
        try {
            file.force();
            file.close();
            if (expected.algorithm() == DigestAlgorithm.SHA256) {
                // Of a copy: the running hash stays as it is, should the blob not get stored and the client try again.
                actual = Digest.of(DigestAlgorithm.SHA256, copy(state.sha256).digest());
            } else {
                actual = Uploads.hash(data, expected.algorithm());
            }
        } catch (IOException e) {
            // The file may hold fewer bytes than were hashed: the next request rehashes what it holds.
            state.hashedBytes = -1;
            throw IoFailures.of("completing upload " + id, dir, e);
        }
        if (!actual.equals(expected)) {
            cancel();
            throw new StorageException(Problem.DIGEST_INVALID,
                    "digest mismatch: computed " + actual + " for " + size + " bytes, expected " + expected);
        }
        try {
            owner.blobs().adopt(data, expected);
        } catch (IOException e) {
            throw IoFailures.of("storing blob " + expected, dir, e);
        }
        try {
            owner.blobs().link(repository, expected);
        } finally {
            finish();
        }
        if (file.wentDirect()) {
            owner.io().warm(owner.blobs().dataPath(expected));
        }
        return size;
    }

    private static MessageDigest copy(MessageDigest md) {
        try {
            return (MessageDigest) md.clone();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException(md.getAlgorithm() + " cannot be copied", e);
        }
    }

    /** Discards the upload and everything written to it. */
    @Override
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
