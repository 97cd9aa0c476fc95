package io.berth.storage;

import java.io.Closeable;
import java.nio.ByteBuffer;

/**
 * One request's exclusive hold on a resumable blob upload. Bytes are appended as they arrive while the SHA-256 state
 * advances, so the blob is never held in memory. Closing the handle keeps the upload for the next request, which may
 * be served by another replica where the storage is shared; {@link #commit} and {@link #cancel} end it.
 */
public interface Upload extends Closeable {
    String id();

    RepositoryName repository();

    /** Bytes received so far. */
    long size();

    /**
     * Appends {@code buffers} in order. The caller must stop the upload from growing past its limit
     * before calling; {@code maxSize} is checked here too, before any byte is written.
     */
    void write(ByteBuffer[] buffers, long maxSize);

    /**
     * Verifies the upload against {@code expected}, stores it as a blob and links it into the repository; returns its
     * size. A mismatch cancels the upload and fails with DIGEST_INVALID. When the storage fails (STORAGE_FULL,
     * STORAGE_FAILED) before the blob is stored, the upload stays, for the client to complete again; once the blob is
     * stored, the upload is gone whatever happens to the link.
     */
    long commit(Digest expected);

    /** Discards the upload and everything written to it. */
    void cancel();

    /** Releases this request's hold; the upload stays resumable. */
    @Override
    void close();
}
