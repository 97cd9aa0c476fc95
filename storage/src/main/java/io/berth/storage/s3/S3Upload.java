package io.berth.storage.s3;

import io.berth.storage.Digest;
import io.berth.storage.DigestAlgorithm;
import io.berth.storage.Problem;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import io.berth.storage.Upload;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request's hold on a resumable upload kept in the bucket ({@link S3Uploads}): a lease on its
 * {@code berth-state}, taken and renewed by conditional writes, so that one writer at a time appends to it, whichever
 * replica it runs on.
 *
 * <p>Bytes fill a buffer of {@code chunksize}; each full buffer becomes a part of the multipart upload on
 * {@code _uploads/<id>/data} (created at the first full part), sent while the next buffer fills, with at most
 * {@code partConcurrency} parts in flight. <b>Memory: at most {@code (partConcurrency + 1) * chunksize} bytes per
 * upload</b> (the buffers in flight and the one filling), taken from and returned to the owner's pool; a handle that
 * only reads its progress or closes holds none. SHA-256 advances as bytes arrive (BouncyCastle's
 * {@link SHA256Digest}, whose encoded state is saved in {@code berth-state}, so the next writer resumes the hash
 * without reading data back).
 *
 * <p>Every {@link #CHECKPOINT_PARTS} parts, and whenever half the lease has gone by, the state is saved up to the last
 * part whose predecessors are all acknowledged, renewing the lease: a replica killed mid-request loses only what came
 * after, and the next writer (once the lease expires) resumes there, sending the same part numbers again. When the
 * handle is closed the bytes past the last part are saved as this writer's own tail object, then the state, with no
 * lease. A conditional write that fails means another writer broke an expired lease: this handle then fails with
 * BLOB_UPLOAD_INVALID and writes nothing more to the state. Parts such a stalled writer still sends carry different
 * ETags than the state records (unless their bytes are the same), so a completion never mixes the two writers' bytes.
 */
final class S3Upload implements Upload {
    private static final Logger log = LoggerFactory.getLogger(S3Upload.class);
    /** Parts between two saves of the state within one request. */
    static final int CHECKPOINT_PARTS = 8;
    /** S3's most parts per multipart upload. */
    static final int MAX_PARTS = 10_000;

    private final S3Uploads owner;
    private final ObjectStore store;
    private final RepositoryName repository;
    private final String id;
    private final int chunk;
    /** This handle's lease token, and the name of the tail object it writes. */
    private final String token;

    private String stateEtag;
    /** What the last saved state says (bytes, tail, hash), without its lease. */
    private UploadState saved;

    private @Nullable String multipart;
    /** Parts acknowledged, in order, with no gap. */
    private final List<ObjectStore.Part> done;
    /** Parts sent and not yet acknowledged, oldest first. */
    private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
    private int nextPart;
    private int partsSinceSave;
    /** The hash state and the bytes as of the last acknowledged part of this request; null before one. */
    private byte @Nullable [] acknowledgedHash;
    private long acknowledgedEnd;

    private byte @Nullable [] filling;
    private int filled;
    private long size;
    private SHA256Digest sha256;
    private Instant leaseUntil;

    private boolean open = true;
    /**
     * A part, or a request to the store while writing, failed: what follows the last acknowledged part is lost, so
     * the state may only go back to it, and this handle writes nothing more.
     */
    private boolean broken;
    /** Another writer took the upload: nothing more is written to it. */
    private boolean leaseLost;

    private record InFlight(int number, CompletableFuture<ObjectStore.Part> future, byte[] buffer, long end, byte[] hash) {}

    /**
     * A hold on an upload whose state {@code state} (ETag {@code etag}) was just leased to {@code token} until
     * {@code until}.
     */
    S3Upload(S3Uploads owner, RepositoryName repository, String id, UploadState state, String etag, String token, Instant until) {
        this.owner = owner;
        this.token = token;
        this.store = owner.store();
        this.repository = repository;
        this.id = id;
        this.chunk = owner.chunkSize();
        this.stateEtag = etag;
        this.saved = state.withLease(null, null);
        this.multipart = state.multipart();
        this.done = new ArrayList<>(state.parts());
        this.nextPart = done.size() + 1;
        this.size = state.size();
        this.sha256 = new SHA256Digest(state.sha256());
        this.leaseUntil = until;
    }

    /** Loads the saved tail back into the filling buffer. Called once, right after construction. */
    void loadTail(UploadState state) {
        if (state.tail() == 0) {
            return;
        }
        String key = S3Layout.uploadDir(repository, id) + state.tailKey(); // S3Layout.uploadTail of its writer
        ObjectStore.Content tail = store.get(key);
        if (tail == null || tail.bytes().length != state.tail() || !tail.etag().equals(state.tailEtag())) {
            throw new StorageException(Problem.BLOB_UPLOAD_INVALID, "upload " + id + " lost its last "
                    + state.tail() + " bytes (" + key + " is missing or was overwritten); start it again");
        }
        byte[] b = buffer();
        System.arraycopy(tail.bytes(), 0, b, 0, tail.bytes().length);
        filled = tail.bytes().length;
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
        return size;
    }

    /**
     * Appends {@code buffers} in order, consuming them. {@code maxSize} is checked before any byte is taken. Fails
     * with BLOB_UPLOAD_INVALID when another writer took the upload over, STORAGE_FAILED when a part could not be sent.
     */
    @Override
    public void write(ByteBuffer[] buffers, long maxSize) {
        requireWritable();
        long total = 0;
        for (ByteBuffer b : buffers) {
            total += b.remaining();
        }
        if (size + total > maxSize) {
            throw new StorageException(Problem.SIZE_INVALID, "upload exceeds the limit of " + maxSize + " bytes");
        }
        if ((size + total + chunk - 1) / chunk > MAX_PARTS) {
            throw new StorageException(Problem.SIZE_INVALID, "upload exceeds " + MAX_PARTS + " parts of "
                    + chunk + " bytes (storage.s3.chunksize), the most an S3 upload can have");
        }
        try {
            for (ByteBuffer src : buffers) {
                while (src.hasRemaining()) {
                    byte[] b = buffer();
                    int n = Math.min(src.remaining(), chunk - filled);
                    src.get(b, filled, n);
                    sha256.update(b, filled, n);
                    filled += n;
                    size += n;
                    if (filled == chunk) {
                        sendPart();
                    }
                }
            }
            if (!owner.now().isBefore(leaseUntil.minus(owner.lease().dividedBy(2)))) {
                harvest();
                save(lastGood(), lease());
            }
        } catch (RuntimeException e) {
            broken = true;
            throw e;
        }
    }

    private byte[] buffer() {
        byte[] b = filling;
        if (b == null) {
            b = owner.acquireBuffer();
            filling = b;
        }
        return b;
    }

    /** Sends the full buffer as the next part, after waiting for the oldest part when as many as allowed are in flight. */
    private void sendPart() {
        byte[] full = buffer();
        if (multipart == null) {
            multipart = store.createMultipart(S3Layout.uploadData(repository, id));
            // Saved at once, so a purge can abort it whatever happens to this request.
            save(lastGood(), lease());
        }
        while (inFlight.size() >= owner.partConcurrency()) {
            awaitOldest();
        }
        int number = nextPart++;
        CompletableFuture<ObjectStore.Part> f = store.uploadPart(S3Layout.uploadData(repository, id), multipart, number,
                ByteBuffer.wrap(full, 0, chunk));
        inFlight.add(new InFlight(number, f, full, size, sha256.getEncodedState()));
        filling = null;
        filled = 0;
        if (++partsSinceSave >= CHECKPOINT_PARTS) {
            harvest();
            save(lastGood(), lease());
        }
    }

    /** Takes in the parts acknowledged so far, oldest first, without waiting. */
    private void harvest() {
        while (!inFlight.isEmpty() && inFlight.peekFirst().future().isDone()) {
            awaitOldest();
        }
    }

    /** Waits for the oldest part in flight and takes it in; a failure fails this request and ends its writing. */
    private void awaitOldest() {
        InFlight p = inFlight.removeFirst();
        try {
            ObjectStore.Part part = ObjectStore.join(p.future());
            done.add(part);
            acknowledgedHash = p.hash();
            acknowledgedEnd = p.end();
        } catch (StorageException e) {
            broken = true;
            throw new StorageException(Problem.STORAGE_FAILED, "part " + p.number() + " of upload " + id
                    + " could not be stored: " + e.getMessage() + "; the upload resumes from " + lastGood().size() + " bytes", e);
        } finally {
            owner.releaseBuffer(p.buffer());
        }
    }

    /** Waits for every part in flight, whatever becomes of them, and gives their buffers back. */
    private void drainQuietly() {
        while (!inFlight.isEmpty()) {
            try {
                awaitOldest();
            } catch (StorageException e) {
                // recorded in broken
            }
        }
    }

    /** The newest state whose bytes are all in the bucket: the last saved one, or its parts and those acknowledged since. */
    private UploadState lastGood() {
        if (acknowledgedHash == null) {
            // The multipart upload may be newer than the saved state.
            return new UploadState(multipart, saved.parts(), saved.size(), saved.tail(), saved.tailKey(), saved.tailEtag(),
                    saved.sha256(), null, null);
        }
        return new UploadState(multipart, done, acknowledgedEnd, 0, null, null, acknowledgedHash, null, null);
    }

    private Instant lease() {
        return owner.now().plus(owner.lease());
    }

    /** Saves {@code state} with a lease until {@code until} (or none when null); BLOB_UPLOAD_INVALID when the upload was taken. */
    private void save(UploadState state, @Nullable Instant until) {
        String etag = store.putIfMatch(S3Layout.uploadState(repository, id),
                state.withLease(until == null ? null : token, until).toJson(), stateEtag);
        if (etag == null) {
            leaseLost = true;
            throw taken();
        }
        stateEtag = etag;
        if (saved.tailKey() != null && !saved.tailKey().equals(state.tailKey())) {
            deleteQuietly(S3Layout.uploadDir(repository, id) + saved.tailKey());
        }
        saved = state;
        partsSinceSave = 0;
        if (until != null) {
            leaseUntil = until;
        }
    }

    private StorageException taken() {
        return new StorageException(Problem.BLOB_UPLOAD_INVALID, "upload " + id
                + " was taken over by another request after this one's lease expired; query its progress and resume");
    }

    /**
     * Verifies the upload against {@code expected}, stores it at the blob's key and links it into the repository. A
     * mismatch cancels the upload and fails with DIGEST_INVALID, leaving nothing at the blob key. An upload that never
     * filled a part is one PutObject from memory; a larger one completes its multipart upload and is copied to the
     * blob key on the store's side; nothing is stored when the blob is already there. SHA-256 comes from the running
     * hash; another algorithm (sha512) is computed here, from memory or by reading the completed upload back.
     */
    @Override
    public long commit(Digest expected) {
        requireWritable();
        while (!inFlight.isEmpty()) {
            awaitOldest();
        }
        boolean sha = expected.algorithm() == DigestAlgorithm.SHA256;
        if (sha) {
            byte[] out = new byte[32];
            new SHA256Digest(sha256).doFinal(out, 0);
            requireMatch(expected, new Digest(DigestAlgorithm.SHA256, HexFormat.of().formatHex(out)));
        }
        if (owner.now().isAfter(leaseUntil.minus(owner.lease().dividedBy(2)))) {
            save(lastGood(), lease());
        }
        S3Blobs blobs = owner.blobs();
        String blobKey = S3Layout.blobData(expected);
        boolean completed = false;
        if (multipart == null) {
            byte[] content = filling == null ? new byte[0] : Arrays.copyOf(filling, filled);
            if (!sha) {
                MessageDigest md = expected.algorithm().newMessageDigest();
                requireMatch(expected, new Digest(expected.algorithm(), HexFormat.of().formatHex(md.digest(content))));
            }
            blobs.putContent(expected, content);
        } else if (!sha || blobs.globalSize(expected) != size) {
            String data = S3Layout.uploadData(repository, id);
            ObjectStore.Stat before = store.stat(data);
            if (before == null || before.size() != size) {
                // (Else an earlier commit completed it and failed after: the parts are gone, the object is whole.)
                List<ObjectStore.Part> all = new ArrayList<>(done);
                if (filled > 0) {
                    all.add(ObjectStore.join(store.uploadPart(data, multipart, nextPart, ByteBuffer.wrap(buffer(), 0, filled))));
                }
                store.completeMultipart(data, multipart, all);
            }
            completed = true;
            if (!sha) {
                requireMatch(expected, hashObject(data, expected.algorithm()));
            }
            if (blobs.globalSize(expected) != size) {
                store.copy(data, blobKey, size);
            }
            blobs.remember(expected, size);
        }
        try {
            blobs.link(repository, expected);
        } finally {
            finish(completed);
        }
        return size;
    }

    private void requireMatch(Digest expected, Digest actual) {
        if (!actual.equals(expected)) {
            cancel();
            throw new StorageException(Problem.DIGEST_INVALID,
                    "digest mismatch: computed " + actual + " for " + size + " bytes, expected " + expected);
        }
    }

    private Digest hashObject(String key, DigestAlgorithm algorithm) {
        MessageDigest md = algorithm.newMessageDigest();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = store.stream(key, 0, size)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        } catch (IOException e) {
            throw new StorageException(Problem.STORAGE_FAILED, "reading upload " + id + " back to hash it: " + e, e);
        }
        return new Digest(algorithm, HexFormat.of().formatHex(md.digest()));
    }

    /** Discards the upload and everything written to it. */
    @Override
    public void cancel() {
        if (!open) {
            return;
        }
        drainQuietly();
        finish(false);
    }

    /** Ends the upload: aborts its multipart upload unless completed, deletes its objects and gives its slot back. */
    private void finish(boolean multipartCompleted) {
        open = false;
        giveBackBuffer();
        try {
            if (multipart != null && !multipartCompleted) {
                store.abortMultipart(S3Layout.uploadData(repository, id), multipart);
            }
            store.deleteAll(S3Layout.uploadDir(repository, id));
        } catch (StorageException e) {
            log.warn("upload {} of {} ended but its objects stay until purged: {}", id, repository, e.getMessage());
        } finally {
            owner.forget(repository, id);
        }
    }

    /**
     * Releases this request's hold; the upload stays resumable. The bytes past the last part are saved in this
     * writer's tail object, then the state without a lease. Fails when they could not be saved (the upload then
     * resumes from its last saved state, as its progress says).
     */
    @Override
    public void close() {
        if (!open) {
            return;
        }
        open = false;
        try {
            if (leaseLost) {
                return;
            }
            boolean failedBefore = broken;
            drainQuietly();
            String tailKey = null;
            String tailEtag = null;
            if (!broken && filled > 0) {
                tailKey = S3Layout.TAIL + token;
                try {
                    tailEtag = store.put(S3Layout.uploadDir(repository, id) + tailKey, Arrays.copyOf(buffer(), filled));
                } catch (StorageException e) {
                    broken = true;
                }
            }
            UploadState state = broken ? lastGood()
                    : new UploadState(multipart, done, size, filled, filled > 0 ? tailKey : null, tailEtag, sha256.getEncodedState(), null, null);
            save(state, null);
            if (broken && !failedBefore) {
                throw new StorageException(Problem.STORAGE_FAILED, "a write to upload " + id
                        + " failed; the upload resumes from " + saved.size() + " bytes");
            }
        } finally {
            giveBackBuffer();
        }
    }

    /** Drops this handle without saving anything or releasing the lease, as a killed replica would: for tests. */
    void abandon() {
        open = false;
        drainQuietly();
        giveBackBuffer();
    }

    private void giveBackBuffer() {
        if (filling != null) {
            owner.releaseBuffer(filling);
            filling = null;
        }
    }

    private void deleteQuietly(String key) {
        try {
            store.delete(key);
        } catch (StorageException e) {
            // deleted with the upload's other objects at the end
        }
    }

    private void requireWritable() {
        if (!open) {
            throw new IllegalStateException("upload " + id + " is closed");
        }
        if (leaseLost) {
            throw taken();
        }
        if (broken) {
            throw new StorageException(Problem.STORAGE_FAILED, "a write to upload " + id
                    + " failed; close this request and resume from " + lastGood().size() + " bytes");
        }
    }
}
