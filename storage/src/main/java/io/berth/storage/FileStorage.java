package io.berth.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The registry's storage on a filesystem: blobs, uploads, manifests, tags and referrers on registry:2's filesystem
 * layout under one root directory. Safe for concurrent use; every write is crash-safe.
 *
 * <p>Tag rules are passed into each operation they rule on as a {@link TagGuard}, and checked under a lock per
 * repository together with the writes: manifest pushes, manifest and tag deletes and blob deletes of one
 * repository are serialised in this process (see {@link RepositoryLocks} for what several replicas would need).
 */
public final class FileStorage implements RegistryStorage {
    private final Path root;
    private final Layout layout;
    private final Blobs blobs;
    private final UploadIo uploadIo = UploadIo.withDefaults();
    private final Uploads uploads;
    private final Manifests manifests;
    private static final int GENERATION_SLOTS = 1024;
    private final java.util.concurrent.atomic.AtomicLongArray generations = new java.util.concurrent.atomic.AtomicLongArray(GENERATION_SLOTS);
    private final java.util.concurrent.atomic.AtomicLong collections = new java.util.concurrent.atomic.AtomicLong();
    private final RepositoryLocks locks = new RepositoryLocks();
    private final Clock clock;

    private FileStorage(Path root, Clock clock, long manifestCacheBytes) {
        this.root = root;
        this.clock = clock;
        this.layout = new Layout(root);
        this.blobs = new Blobs(layout);
        this.uploads = new Uploads(layout, blobs, clock, uploadIo);
        this.manifests = new Manifests(layout, blobs, locks, manifestCacheBytes);
    }

    /** Opens (creating if needed) the storage rooted at {@code rootDirectory}, registry:2's {@code rootdirectory}. */
    public static FileStorage open(Path rootDirectory) {
        return open(rootDirectory, Clock.systemUTC(), DEFAULT_MANIFEST_CACHE_BYTES);
    }

    public static FileStorage open(Path rootDirectory, Clock clock, long manifestCacheBytes) {
        Path root = rootDirectory.toAbsolutePath().normalize();
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create storage root " + root, e);
        }
        return new FileStorage(root, clock, manifestCacheBytes);
    }

    @Override
    public String describe() {
        return root.toString();
    }

    public Path root() {
        return root;
    }

    /** This storage's upload buffers, warmer and direct-I/O state; no other storage shares them. */
    UploadIo uploadIo() {
        return uploadIo;
    }

    /** The bytes the volume holding the storage root has free for Berth (the file store's usable space). */
    @Override
    public long usableBytes() {
        try {
            return Files.getFileStore(root).getUsableSpace();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the free space of " + root, e);
        }
    }

    /** How many blobs and repositories the storage holds: see {@link #countContent()}. */

    /**
     * Counts the blobs (the digest directories under {@code blobs/<algorithm>/<xx>/}) and the repositories, by listing
     * directories only: no file is opened or hashed, so it costs one directory entry per blob. For gauges refreshed
     * now and then, not for every request.
     */
    @Override
    public ContentCounts countContent() {
        long blobs = 0;
        try (DirectoryStream<Path> algorithms = Files.newDirectoryStream(layout.blobsRoot(), Files::isDirectory)) {
            for (Path algorithm : algorithms) {
                try (DirectoryStream<Path> prefixes = Files.newDirectoryStream(algorithm, Files::isDirectory)) {
                    for (Path prefix : prefixes) {
                        try (DirectoryStream<Path> digests = Files.newDirectoryStream(prefix)) {
                            for (Path ignored : digests) {
                                blobs++;
                            }
                        } catch (NoSuchFileException e) {
                            // a prefix directory emptied and removed by a collection meanwhile
                        }
                    }
                }
            }
        } catch (NoSuchFileException e) {
            // no blob yet
        } catch (IOException e) {
            throw new UncheckedIOException("cannot count the blobs under " + layout.blobsRoot(), e);
        }
        long[] repositories = {0};
        RepositoryWalker.forEachRepository(layout, (name, dir) -> repositories[0]++);
        return new ContentCounts(blobs, repositories[0]);
    }

    /** Checks that the storage root can be read and written, for health checks. */
    @Override
    public void checkHealth() throws IOException {
        Path probe = Files.createTempFile(root, ".health", ".tmp");
        Files.delete(probe);
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

    /** Opens a blob of {@code repository} for reading; the caller closes it. */
    @Override
    public BlobContent openBlob(RepositoryName repository, Digest digest) {
        return blobs.open(repository, digest);
    }

    /**
     * Removes the blob from {@code repository}; its data goes at the next garbage collection. BLOB_UNKNOWN when it
     * is not there; DENIED, with {@code guard}'s reason, when a tag it protects reaches the blob.
     */
    @Override
    public void deleteBlob(RepositoryName repository, Digest digest, TagGuard guard) {
        try {
            manifests.deleteBlob(repository, digest, guard);
        } finally {
            changed(repository);
        }
    }

    /**
     * Makes a stored blob available in {@code target} without uploading it again. With {@code from},
     * the blob must be in that repository; without it, any stored blob with that digest is linked
     * (automatic mount). Returns the blob's size, or -1 when nothing could be mounted.
     */
    @Override
    public long mountBlob(RepositoryName target, @Nullable RepositoryName from, Digest digest) {
        if (from != null && !blobs.isLinked(from, digest)) {
            return -1;
        }
        long size = blobs.globalSize(digest);
        if (size >= 0) {
            blobs.touch(digest);
            blobs.link(target, digest);
        }
        return size;
    }

    // ---- uploads

    /**
     * Starts a new upload in {@code repository} for {@code account}, counted against the open-upload limit of both
     * ({@link #limitOpenUploads}); TOOMANYREQUESTS when either is reached. The caller closes the returned handle.
     */
    @Override
    public Upload startUpload(RepositoryName repository, @Nullable String account) {
        return uploads.start(repository, account);
    }

    /**
     * Read-only mode ({@code storage.maintenance.readonly.enabled}, for a snapshot or a migration): reads write
     * nothing, not even the referrers index of manifests another writer left; those are found by reading instead.
     */
    @Override
    public void readOnly(boolean on) {
        manifests.readOnly(on);
    }

    /** At most {@code max} unfinished uploads per repository and per account ({@code berth.uploads.maxOpen}). */
    @Override
    public void limitOpenUploads(int max) {
        uploads.limitOpen(max);
    }

    /** Deletes uploads nothing has written to for {@code idle}; returns how many were deleted. */
    @Override
    public int purgeIdleUploads(Duration idle) {
        return uploads.purgeIdle(idle);
    }

    /** Takes hold of an existing upload of {@code repository}; BLOB_UPLOAD_UNKNOWN when there is none. */
    @Override
    public Upload resumeUpload(RepositoryName repository, String id) {
        return uploads.resume(repository, id);
    }

    /**
     * The bytes an existing upload of {@code repository} holds, without taking hold of it; BLOB_UPLOAD_UNKNOWN when
     * there is none, BLOB_UPLOAD_INVALID while a request writes to it.
     */
    @Override
    public long uploadProgress(RepositoryName repository, String id) {
        return uploads.progress(repository, id);
    }

    /** Deletes uploads older than {@code age}; returns how many were deleted. */
    @Override
    public int purgeUploads(Duration age) {
        return uploads.purge(age);
    }

    // ---- manifests and tags

    /**
     * Stores a manifest. {@code digest}, when given, must match the content; {@code tags} are pointed
     * at it once it and everything it refers to are stored. DENIED, with {@code guard}'s reason and nothing
     * tagged, when {@code guard} refuses any of the tags; the check and the writes hold the repository's lock.
     */
    @Override
    public StoredManifest putManifest(RepositoryName repository, byte[] content, @Nullable String mediaType,
            @Nullable Digest digest, List<Tag> tags, TagGuard guard) {
        try {
            return manifests.put(repository, content, mediaType, digest, tags, guard);
        } finally {
            changed(repository);
        }
    }

    /**
     * Stores a manifest fetched from another registry by a pull-through cache, with {@code tags} pointed at it, though
     * the blobs and manifests it refers to may not be stored yet: they are fetched when they are asked for.
     * {@code digest}, when given, must match the content.
     */
    @Override
    public StoredManifest cacheManifest(RepositoryName repository, byte[] content, @Nullable String mediaType,
            @Nullable Digest digest, List<Tag> tags) {
        try {
            return manifests.put(repository, content, mediaType, digest, tags, TagGuard.NONE, false);
        } finally {
            changed(repository);
        }
    }

    @Override
    public StoredManifest getManifest(RepositoryName repository, Reference reference) {
        return manifests.get(repository, reference);
    }

    /**
     * Deletes a tag, or a manifest with every tag pointing at it. DENIED, with {@code guard}'s reason, when the tag
     * is protected, or when a protected tag reaches the manifest (points at it, or at an index that contains it).
     */
    @Override
    public void deleteManifest(RepositoryName repository, Reference reference, TagGuard guard) {
        try {
            manifests.delete(repository, reference, guard);
        } finally {
            changed(repository);
        }
    }

    /**
     * A number that changes whenever a manifest, tag or blob link of {@code repository} may have changed through this
     * storage (and on every collection), so that what was derived from the repository's contents (signature
     * verdicts) can tell it is stale. Repositories share 1024 counters, so an unrelated change can also move it.
     */
    @Override
    public long generation(RepositoryName repository) {
        return generations.get(slot(repository)) + collections.get();
    }

    private void changed(RepositoryName repository) {
        generations.incrementAndGet(slot(repository));
    }

    private static int slot(RepositoryName repository) {
        return repository.hashCode() & (GENERATION_SLOTS - 1);
    }

    /** The repository's tags in lexical order, after {@code last}, at most {@code limit}. */
    @Override
    public List<Tag> tags(RepositoryName repository, @Nullable String last, int limit) {
        return RegistryStorage.page(manifests.listTags(repository), last == null ? null : t -> t.value().compareTo(last) > 0, limit);
    }

    /** The digest {@code tag} points at, or null when the repository has no such tag. */
    @Override
    public @Nullable Digest tagTarget(RepositoryName repository, Tag tag) {
        return manifests.tagTarget(repository, tag);
    }

    /** The tags that point at {@code digest}. */
    @Override
    public List<Tag> tagsOf(RepositoryName repository, Digest digest) {
        return manifests.allTags(repository).stream().filter(t -> digest.equals(manifests.tagTarget(repository, t))).toList();
    }

    /** The manifests whose subject is {@code subject}, optionally filtered by artifact type. */
    @Override
    public List<Descriptor> referrers(RepositoryName repository, Digest subject, @Nullable String artifactType) {
        return manifests.referrers(repository, subject, artifactType);
    }

    /** Like {@link #catalog(String, int)}, listing only the repositories {@code visible} accepts. */
    @Override
    public List<RepositoryName> catalog(@Nullable String last, int limit, java.util.function.Predicate<RepositoryName> visible) {
        List<RepositoryName> all = new ArrayList<>();
        RepositoryWalker.forEachRepository(layout, (name, dir) -> {
            if (visible.test(name)) {
                all.add(name);
            }
        });
        return RegistryStorage.catalogPage(all, last, limit);
    }

    /**
     * Runs a mark-and-sweep collection of unreferenced blobs and, optionally, untagged manifests. It is safe while the
     * registry serves, from this process or another one on the same volume (see {@link GarbageCollector}): blobs (and,
     * with {@code deleteUntagged}, revisions) changed within {@code gracePeriod} are kept, and no manifest push that
     * succeeds loses a blob.
     */
    @Override
    public GarbageCollector.Result collectGarbage(boolean dryRun, boolean deleteUntagged, Duration gracePeriod) {
        try {
            return new GarbageCollector(layout, blobs, manifests, locks, clock).run(dryRun, deleteUntagged, gracePeriod);
        } finally {
            collections.incrementAndGet();
        }
    }

}
