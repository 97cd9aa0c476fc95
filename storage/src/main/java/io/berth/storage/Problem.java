package io.berth.storage;

/**
 * The OCI Distribution error codes a storage operation can fail with. The wire layer maps each to
 * its HTTP status; storage itself stays protocol-neutral.
 */
public enum Problem {
    BLOB_UNKNOWN,
    BLOB_UPLOAD_INVALID,
    BLOB_UPLOAD_UNKNOWN,
    DIGEST_INVALID,
    MANIFEST_BLOB_UNKNOWN,
    MANIFEST_INVALID,
    MANIFEST_UNKNOWN,
    NAME_INVALID,
    NAME_UNKNOWN,
    SIZE_INVALID,
    TAG_INVALID,
    RANGE_INVALID,
    UNSUPPORTED,
    DENIED,
    /** A limit on what one client or repository may hold (open uploads) is reached. */
    TOOMANYREQUESTS,
    /** The volume has no room left (ENOSPC, or a quota): nothing partial was kept, and the write works once space is freed. */
    STORAGE_FULL,
    /** The volume failed a read or write (EIO, a read-only remount): nothing partial was kept. */
    STORAGE_FAILED,
    /**
     * The storage cannot be reached or asks to slow down (an object store's 503 SlowDown after the retries, a connection
     * that fails): nothing partial was kept, and the same request works once it answers again.
     */
    STORAGE_UNAVAILABLE,
}
