package io.berth.storage.s3;

import io.berth.storage.BlobContent;
import io.berth.storage.Descriptor;
import io.berth.storage.Digest;
import io.berth.storage.GarbageCollector;
import io.berth.storage.Reference;
import io.berth.storage.RegistryStorage;
import io.berth.storage.RepositoryName;
import io.berth.storage.StoredManifest;
import io.berth.storage.Tag;
import io.berth.storage.TagGuard;
import io.berth.storage.Upload;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The registry's storage on one bucket of an S3-compatible object store, with registry:2's {@code s3} driver's keys:
 * blobs and uploads ({@link S3Blobs}, {@link S3Uploads}), manifests, tags and referrers ({@link S3Manifests}), the
 * catalog ({@link S3Catalog}) and garbage collection ({@link S3GarbageCollector}). Any number of replicas may share the
 * bucket: what they must agree on is read from it on every request, and tag rules hold across them (see
 * {@link S3Manifests}).
 */
public final class S3Storage implements RegistryStorage {
    private final ObjectStore store;
    private final Clock clock;
    private final S3Blobs blobs;
    private final S3Uploads uploads;
    private final S3Manifests manifests;
    private final S3Catalog catalog;
    private final ExecutorService reads = S3Catalog.newPool();

    S3Storage(ObjectStore store, Clock clock, long manifestCacheBytes, Duration lockLease, Duration lockWait) {
        this.store = store;
        this.clock = clock;
        this.blobs = new S3Blobs(store);
        this.uploads = new S3Uploads(store, blobs, clock);
        this.manifests = new S3Manifests(store, blobs, new S3Locks(store, clock, lockLease, lockWait), manifestCacheBytes, reads);
        this.catalog = new S3Catalog(store, reads);
    }

    /** Opens the storage on the bucket {@code settings} name; nothing is sent until the first call. */
    public static S3Storage open(S3Settings settings) {
        return open(settings, Clock.systemUTC(), RegistryStorage.DEFAULT_MANIFEST_CACHE_BYTES);
    }

    public static S3Storage open(S3Settings settings, Clock clock, long manifestCacheBytes) {
        return new S3Storage(ObjectStore.open(settings), clock, manifestCacheBytes, S3Locks.DEFAULT_LEASE, S3Locks.DEFAULT_MAX_WAIT);
    }

    @Override
    public String describe() {
        S3Settings s = store.settings();
        return "s3://" + s.bucket() + "/" + s.v2Prefix() + (s.endpoint() == null ? "" : " at " + s.endpoint());
    }

    ObjectStore store() {
        return store;
    }

    S3Blobs blobs() {
        return blobs;
    }

    /** An object store does not fill up: there is no free space to report. */
    @Override
    public long usableBytes() {
        return Long.MAX_VALUE;
    }

    /** How many blobs and repositories the bucket holds, by listings only (for gauges refreshed now and then). */
    @Override
    public ContentCounts countContent() {
        return new ContentCounts(catalog.countBlobs(), catalog.all().size());
    }

    /**
     * One cheap authenticated call (a listing of at most one key): throws the store's error (unreachable, refused
     * credentials, no such bucket) for health checks.
     */
    @Override
    public void checkHealth() {
        store.listOne(S3Layout.REPOSITORIES);
    }

    /** Read-only mode: reads write nothing, not even the referrers index of manifests registry:2 wrote. */
    @Override
    public void readOnly(boolean on) {
        manifests.readOnly(on);
    }

    // ---- blobs

    /** The size of a blob in {@code repository}; BLOB_UNKNOWN when it is not there. */
    @Override
    public long blobSize(RepositoryName repository, Digest digest) {
        return blobs.size(repository, digest);
    }

    /** Whether blob {@code digest} is stored, in any repository. */
    @Override
    public boolean hasBlob(Digest digest) {
        return blobs.globalSize(digest) >= 0;
    }

    /** A blob as a stream of ranged GETs, or a presigned redirect when {@code storage.redirect} is on. */
    @Override
    public BlobContent openBlob(RepositoryName repository, Digest digest) {
        return blobs.open(repository, digest);
    }

    /** Unlinks the blob from {@code repository}; DENIED when a tag {@code guard} protects reaches it. */
    @Override
    public void deleteBlob(RepositoryName repository, Digest digest, TagGuard guard) {
        manifests.deleteBlob(repository, digest, guard);
    }

    /**
     * Links a stored blob into {@code target} without uploading it again: from {@code from} when given (it must be
     * linked there), else any stored blob (automatic mount). Returns its size, or -1 when nothing could be mounted.
     */
    @Override
    public long mountBlob(RepositoryName target, @Nullable RepositoryName from, Digest digest) {
        if (from != null && !blobs.isLinked(from, digest)) {
            return -1;
        }
        long size = blobs.globalSize(digest);
        if (size >= 0) {
            blobs.link(target, digest);
        }
        return size;
    }

    // ---- uploads (kept in the bucket: any replica resumes any upload)

    @Override
    public Upload startUpload(RepositoryName repository, @Nullable String account) {
        return uploads.start(repository, account);
    }

    @Override
    public void limitOpenUploads(int max) {
        uploads.limitOpen(max);
    }

    @Override
    public int purgeIdleUploads(Duration idle) {
        return uploads.purgeIdle(idle);
    }

    @Override
    public Upload resumeUpload(RepositoryName repository, String id) {
        return uploads.resume(repository, id);
    }

    @Override
    public long uploadProgress(RepositoryName repository, String id) {
        return uploads.progress(repository, id);
    }

    @Override
    public int purgeUploads(Duration age) {
        return uploads.purge(age);
    }

    // ---- manifests and tags

    /** Stores a manifest and points {@code tags} at it; DENIED, with nothing tagged, when {@code guard} refuses a tag. */
    @Override
    public StoredManifest putManifest(RepositoryName repository, byte[] content, @Nullable String mediaType,
            @Nullable Digest digest, List<Tag> tags, TagGuard guard) {
        return manifests.put(repository, content, mediaType, digest, tags, guard, true);
    }

    /** Stores a manifest fetched by a pull-through cache: what it refers to need not be stored yet. */
    @Override
    public StoredManifest cacheManifest(RepositoryName repository, byte[] content, @Nullable String mediaType,
            @Nullable Digest digest, List<Tag> tags) {
        return manifests.put(repository, content, mediaType, digest, tags, TagGuard.NONE, false);
    }

    @Override
    public StoredManifest getManifest(RepositoryName repository, Reference reference) {
        return manifests.get(repository, reference);
    }

    /** Deletes a tag, or a manifest with its tags; DENIED when a tag {@code guard} protects is or reaches it. */
    @Override
    public void deleteManifest(RepositoryName repository, Reference reference, TagGuard guard) {
        manifests.delete(repository, reference, guard);
    }

    /** A number that changes with every change of the repository made through any replica on the bucket. */
    @Override
    public long generation(RepositoryName repository) {
        return manifests.generation(repository);
    }

    /** The repository's tags in lexical order, after {@code last}, at most {@code limit}. */
    @Override
    public List<Tag> tags(RepositoryName repository, @Nullable String last, int limit) {
        List<Tag> out = new ArrayList<>();
        for (Tag t : manifests.listTags(repository)) {
            if (out.size() >= limit) {
                break;
            }
            if (last == null || t.value().compareTo(last) > 0) {
                out.add(t);
            }
        }
        return out;
    }

    /** The digest {@code tag} points at, or null when the repository has no such tag. */
    @Override
    public @Nullable Digest tagTarget(RepositoryName repository, Tag tag) {
        return manifests.tagTarget(repository, tag);
    }

    /** The tags that point at {@code digest}. */
    @Override
    public List<Tag> tagsOf(RepositoryName repository, Digest digest) {
        return manifests.tagsOf(repository, digest);
    }

    /** The manifests whose subject is {@code subject}, optionally filtered by artifact type. */
    @Override
    public List<Descriptor> referrers(RepositoryName repository, Digest subject, @Nullable String artifactType) {
        return manifests.referrers(repository, subject, artifactType);
    }

    /** Like {@link #catalog(String, int)}, listing only the repositories {@code visible} accepts. */
    @Override
    public List<RepositoryName> catalog(@Nullable String last, int limit, Predicate<RepositoryName> visible) {
        return catalog.page(last, limit, visible);
    }

    /** registry:2's mark and sweep on the bucket; see {@link S3GarbageCollector} for what it keeps while replicas serve. */
    @Override
    public GarbageCollector.Result collectGarbage(boolean dryRun, boolean deleteUntagged, Duration gracePeriod) {
        return new S3GarbageCollector(store, blobs, manifests, catalog, clock).run(dryRun, deleteUntagged, gracePeriod);
    }

    @Override
    public void close() {
        reads.shutdownNow();
        manifests.locks().close();
        store.close();
    }
}
