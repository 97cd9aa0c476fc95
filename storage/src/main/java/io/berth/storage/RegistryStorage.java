package io.berth.storage;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The registry's storage: blobs, uploads, manifests, tags and referrers, in registry:2's layout. Two
 * implementations: {@link FileStorage} on a filesystem (a PersistentVolume), and {@code io.berth.storage.s3.S3Storage}
 * on an S3-compatible object store, which several replicas may share. Safe for concurrent use.
 *
 * <p>Tag rules are passed into each operation they rule on as a {@link TagGuard}, and checked together with the
 * writes, so that no other push or delete (from this process or, on shared storage, another replica) can come between
 * the check and the write.
 */
public interface RegistryStorage extends AutoCloseable {
    /** The default size of the in-memory cache of parsed manifests. */
    long DEFAULT_MANIFEST_CACHE_BYTES = 64L << 20;

    /** Opens (creating if needed) the filesystem storage rooted at {@code rootDirectory}, registry:2's {@code rootdirectory}. */
    static FileStorage open(Path rootDirectory) {
        return FileStorage.open(rootDirectory);
    }

    static FileStorage open(Path rootDirectory, Clock clock, long manifestCacheBytes) {
        return FileStorage.open(rootDirectory, clock, manifestCacheBytes);
    }

    /** What the storage is, for logs and errors: its root directory, or its bucket and prefix. */
    String describe();

    /** The bytes the storage has free for Berth: a volume's usable space; an object store does not fill. */
    long usableBytes();

    /** How many blobs and repositories the storage holds: see {@link #countContent()}. */
    record ContentCounts(long blobs, long repositories) {}

    /**
     * Counts the blobs and the repositories by listing, without opening or hashing anything. For gauges refreshed now
     * and then, not for every request.
     */
    ContentCounts countContent();

    /** Checks that the storage can be read and written, for health checks; throws saying what failed. */
    void checkHealth() throws IOException;

    /** Releases what the storage holds (an object store's connections); a filesystem holds nothing. */
    @Override
    default void close() {}

    // ---- blobs

    /** The size of a blob in {@code repository}; BLOB_UNKNOWN when it is not there. */
    long blobSize(RepositoryName repository, Digest digest);

    /** Whether blob {@code digest} is stored, in any repository. */
    boolean hasBlob(Digest digest);

    /** Opens a blob of {@code repository} for reading; the caller closes it. BLOB_UNKNOWN when it is not there. */
    BlobContent openBlob(RepositoryName repository, Digest digest);

    /** Like {@link #deleteBlob(RepositoryName, Digest, TagGuard)} with no tag rules. */
    default void deleteBlob(RepositoryName repository, Digest digest) {
        deleteBlob(repository, digest, TagGuard.NONE);
    }

    /**
     * Removes the blob from {@code repository}; its data goes at the next garbage collection. BLOB_UNKNOWN when it
     * is not there; DENIED, with {@code guard}'s reason, when a tag it protects reaches the blob.
     */
    void deleteBlob(RepositoryName repository, Digest digest, TagGuard guard);

    /**
     * Makes a stored blob available in {@code target} without uploading it again. With {@code from},
     * the blob must be in that repository; without it, any stored blob with that digest is linked
     * (automatic mount). Returns the blob's size, or -1 when nothing could be mounted.
     */
    long mountBlob(RepositoryName target, @Nullable RepositoryName from, Digest digest);

    // ---- uploads

    /** Starts a new upload in {@code repository}; the caller closes the returned handle. */
    default Upload startUpload(RepositoryName repository) {
        return startUpload(repository, null);
    }

    /**
     * Starts a new upload in {@code repository} for {@code account} (null: nobody's), counted against the open-upload
     * limit of both ({@link #limitOpenUploads}); TOOMANYREQUESTS when either is reached. The caller closes the handle.
     */
    Upload startUpload(RepositoryName repository, @Nullable String account);

    /**
     * Read-only mode ({@code storage.maintenance.readonly.enabled}, for a snapshot or a migration): reads write
     * nothing, not even the referrers index of manifests another writer left; those are found by reading instead.
     */
    void readOnly(boolean on);

    /** At most {@code max} unfinished uploads per repository and per account ({@code berth.uploads.maxOpen}). */
    void limitOpenUploads(int max);

    /** Deletes uploads nothing has written to for {@code idle}; returns how many were deleted. */
    int purgeIdleUploads(Duration idle);

    /** Takes hold of an existing upload of {@code repository}; BLOB_UPLOAD_UNKNOWN when there is none. */
    Upload resumeUpload(RepositoryName repository, String id);

    /**
     * The bytes an existing upload of {@code repository} holds, without taking hold of it; BLOB_UPLOAD_UNKNOWN when
     * there is none, BLOB_UPLOAD_INVALID while a request writes to it.
     */
    long uploadProgress(RepositoryName repository, String id);

    /** Deletes uploads older than {@code age}; returns how many were deleted. */
    int purgeUploads(Duration age);

    // ---- manifests and tags

    /** Like {@link #putManifest(RepositoryName, byte[], String, Digest, List, TagGuard)} with no tag rules. */
    default StoredManifest putManifest(RepositoryName repository, byte[] content, @Nullable String mediaType,
            @Nullable Digest digest, List<Tag> tags) {
        return putManifest(repository, content, mediaType, digest, tags, TagGuard.NONE);
    }

    /**
     * Stores a manifest. {@code digest}, when given, must match the content; {@code tags} are pointed
     * at it once it and everything it refers to are stored. DENIED, with {@code guard}'s reason and nothing
     * tagged, when {@code guard} refuses any of the tags; the check and the writes are one step.
     */
    StoredManifest putManifest(RepositoryName repository, byte[] content, @Nullable String mediaType,
            @Nullable Digest digest, List<Tag> tags, TagGuard guard);

    /**
     * Stores a manifest fetched from another registry by a pull-through cache, with {@code tags} pointed at it, though
     * the blobs and manifests it refers to may not be stored yet: they are fetched when they are asked for.
     * {@code digest}, when given, must match the content.
     */
    StoredManifest cacheManifest(RepositoryName repository, byte[] content, @Nullable String mediaType,
            @Nullable Digest digest, List<Tag> tags);

    StoredManifest getManifest(RepositoryName repository, Reference reference);

    /** Like {@link #deleteManifest(RepositoryName, Reference, TagGuard)} with no tag rules. */
    default void deleteManifest(RepositoryName repository, Reference reference) {
        deleteManifest(repository, reference, TagGuard.NONE);
    }

    /**
     * Deletes a tag, or a manifest with every tag pointing at it. DENIED, with {@code guard}'s reason, when the tag
     * is protected, or when a protected tag reaches the manifest (points at it, or at an index that contains it).
     */
    void deleteManifest(RepositoryName repository, Reference reference, TagGuard guard);

    /**
     * A number that changes whenever a manifest, tag or blob link of {@code repository} may have changed (and on every
     * collection), so that what was derived from the repository's contents (signature verdicts) can tell it is stale.
     * On shared storage it sees the changes other replicas made. An unrelated change may also move it.
     */
    long generation(RepositoryName repository);

    /** The repository's tags in lexical order, after {@code last}, at most {@code limit}. */
    List<Tag> tags(RepositoryName repository, @Nullable String last, int limit);

    /** The digest {@code tag} points at, or null when the repository has no such tag. */
    @Nullable Digest tagTarget(RepositoryName repository, Tag tag);

    /** The tags that point at {@code digest}. */
    List<Tag> tagsOf(RepositoryName repository, Digest digest);

    /** The manifests whose subject is {@code subject}, optionally filtered by artifact type. */
    List<Descriptor> referrers(RepositoryName repository, Digest subject, @Nullable String artifactType);

    /** Repository names in registry:2's order, after {@code last}, at most {@code limit}. */
    default List<RepositoryName> catalog(@Nullable String last, int limit) {
        return catalog(last, limit, name -> true);
    }

    /** Like {@link #catalog(String, int)}, listing only the repositories {@code visible} accepts. */
    List<RepositoryName> catalog(@Nullable String last, int limit, Predicate<RepositoryName> visible);

    /** Like {@link #collectGarbage(boolean, boolean, Duration)} with no grace period: registry:2's collection. */
    default GarbageCollector.Result collectGarbage(boolean dryRun, boolean deleteUntagged) {
        return collectGarbage(dryRun, deleteUntagged, Duration.ZERO);
    }

    /**
     * Runs a mark-and-sweep collection of unreferenced blobs and, optionally, untagged manifests. Blobs (and, with
     * {@code deleteUntagged}, revisions) changed within {@code gracePeriod} are kept, and no manifest push that
     * succeeds loses a blob.
     */
    GarbageCollector.Result collectGarbage(boolean dryRun, boolean deleteUntagged, Duration gracePeriod);

    // ---- helpers for implementations

    /** The first {@code limit} of {@code sorted} that {@code after} accepts (all when it is null). */
    static <T> List<T> page(List<T> sorted, @Nullable Predicate<T> after, int limit) {
        List<T> out = new ArrayList<>(Math.min(sorted.size(), Math.max(limit, 0)));
        for (T t : sorted) {
            if (out.size() >= limit) {
                break;
            }
            if (after == null || after.test(t)) {
                out.add(t);
            }
        }
        return out;
    }

    /**
     * A page of the catalog from every repository name: sorted as registry:2 sorts them (path components compared in
     * turn, so {@code a/b} comes before {@code a-b}), after {@code last}, at most {@code limit}.
     */
    static List<RepositoryName> catalogPage(List<RepositoryName> all, @Nullable String last, int limit) {
        List<RepositoryName> sorted = new ArrayList<>(all);
        sorted.sort(null);
        String after = last == null ? null : last.replace('/', '\0');
        return page(sorted, after == null ? null : r -> r.value().replace('/', '\0').compareTo(after) > 0, limit);
    }
}
