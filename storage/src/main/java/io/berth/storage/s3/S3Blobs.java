package io.berth.storage.s3;

import io.berth.storage.BlobContent;
import io.berth.storage.Digest;
import io.berth.storage.Problem;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The global content-addressed blob store and the per-repository {@code _layers} links into it, on the bucket with
 * registry:2's keys ({@link S3Layout}). A blob is only ever written whole and verified at its key (by
 * {@link #putContent}, or by an upload's commit), so whoever finds it there may read it.
 *
 * <p>A blob's size is immutable: the sizes this replica has seen are cached ({@link #SIZE_CACHE} entries, least
 * recently used dropped), and only presence is. A missing blob is never cached, so a blob another replica stores is
 * seen at once; a collection that deletes a blob calls {@link #forget}, and a replica that did not collect may still
 * answer a size for a blob whose link is gone, which {@link #size(RepositoryName, Digest)} checks first.
 */
final class S3Blobs {
    /** registry:2's s3 driver's presigned URL lifetime (its {@code URLFor} default). */
    static final Duration REDIRECT_TTL = Duration.ofMinutes(20);
    /** Blob sizes remembered per replica: about 100 bytes each. */
    static final int SIZE_CACHE = 100_000;

    private final ObjectStore store;
    private final Map<Digest, Long> sizes = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Digest, Long> eldest) {
            return size() > SIZE_CACHE;
        }
    };

    S3Blobs(ObjectStore store) {
        this.store = store;
    }

    ObjectStore store() {
        return store;
    }

    /** The size of a blob stored anywhere in the bucket, or -1 when there is none. */
    long globalSize(Digest digest) {
        synchronized (sizes) {
            Long known = sizes.get(digest);
            if (known != null) {
                return known;
            }
        }
        ObjectStore.Stat stat = store.stat(S3Layout.blobData(digest));
        if (stat == null) {
            return -1;
        }
        remember(digest, stat.size());
        return stat.size();
    }

    /** Records the size of a blob just stored whole at its key. */
    void remember(Digest digest, long size) {
        synchronized (sizes) {
            sizes.put(digest, size);
        }
    }

    /** Drops what this replica knows of a blob (a collection deleted it). */
    void forget(Digest digest) {
        synchronized (sizes) {
            sizes.remove(digest);
        }
    }

    /** The size of a blob linked into {@code repository}; BLOB_UNKNOWN otherwise. */
    long size(RepositoryName repository, Digest digest) {
        long size = isLinked(repository, digest) ? globalSize(digest) : -1;
        if (size < 0) {
            throw unknown(digest);
        }
        return size;
    }

    /**
     * Links the blob into {@code repository}. The link is always written, even when it is there already, so its
     * time says when the repository last received the blob (what a collection's grace period can go by).
     */
    void link(RepositoryName repository, Digest digest) {
        store.put(S3Layout.layerLink(repository, digest), digest.toString().getBytes(StandardCharsets.US_ASCII));
    }

    boolean isLinked(RepositoryName repository, Digest digest) {
        return digest.equals(readLink(store, S3Layout.layerLink(repository, digest)));
    }

    /** Unlinks the blob from {@code repository}, as registry:2 does; the data goes at garbage collection. */
    void unlink(RepositoryName repository, Digest digest) {
        if (!isLinked(repository, digest)) {
            throw unknown(digest);
        }
        store.delete(S3Layout.layerLink(repository, digest));
    }

    /**
     * Opens a blob of {@code repository} for reading: a stream of ranged GETs, or, with {@code storage.redirect} on,
     * a presigned URL for the client (Berth's own reads still stream). BLOB_UNKNOWN when it is not there.
     */
    BlobContent open(RepositoryName repository, Digest digest) {
        long size = size(repository, digest);
        BlobContent.Opener opener = (offset, length) -> stream(digest, offset, length);
        if (store.settings().redirect()) {
            return new BlobContent.Redirect(digest, size, presign(digest), opener);
        }
        return new BlobContent.Stream(digest, size, opener);
    }

    /** {@code length} bytes of a stored blob from {@code offset}; BLOB_UNKNOWN when it is not stored. The caller closes it. */
    InputStream stream(Digest digest, long offset, long length) {
        try {
            return store.stream(S3Layout.blobData(digest), offset, length);
        } catch (StorageException e) {
            if (e.problem() == Problem.BLOB_UNKNOWN) {
                forget(digest);
                throw unknown(digest);
            }
            throw e;
        }
    }

    /** A presigned GET of the blob's data for {@link #REDIRECT_TTL}: registry:2's redirect. */
    URI presign(Digest digest) {
        return store.presignGet(S3Layout.blobData(digest), REDIRECT_TTL);
    }

    /**
     * Stores small content already verified against {@code digest} (a manifest) with one PutObject straight to the
     * blob key; nothing is sent when the blob is there with that size.
     */
    void putContent(Digest digest, byte[] content) {
        if (globalSize(digest) == content.length) {
            return;
        }
        store.put(S3Layout.blobData(digest), content);
        remember(digest, content.length);
    }

    /** A stored blob's bytes, whole (a manifest); BLOB_UNKNOWN when it is not stored. */
    byte[] readContent(Digest digest) {
        ObjectStore.Content c = store.get(S3Layout.blobData(digest));
        if (c == null) {
            forget(digest);
            throw unknown(digest);
        }
        remember(digest, c.bytes().length);
        return c.bytes();
    }

    /** The digest a link object holds, or null when there is none or it holds something else. */
    static @Nullable Digest readLink(ObjectStore store, String key) {
        ObjectStore.Content c = store.get(key);
        if (c == null) {
            return null;
        }
        try {
            return Digest.parse(new String(c.bytes(), StandardCharsets.US_ASCII).strip());
        } catch (StorageException e) {
            return null;
        }
    }

    static StorageException unknown(Digest digest) {
        return new StorageException(Problem.BLOB_UNKNOWN, "blob unknown to registry: " + digest);
    }
}
