package io.berth.storage;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Manifests, tags and referrers of each repository. Manifest bytes are content-addressed and
 * immutable, so parsed manifests are cached by digest with no invalidation needed. Pushes and deletes
 * hold the repository's lock ({@link RepositoryLocks}) from their {@link TagGuard} check to their last write.
 */
final class Manifests {
    private final Layout layout;
    private final Blobs blobs;
    private final RepositoryLocks locks;
    private final ProtectedReach reach = new ProtectedReach(this);
    private final Cache<Digest, LoadedManifest> cache;
    private final Set<RepositoryName> referrersIndexed = ConcurrentHashMap.newKeySet();
    private volatile boolean readOnly;
    private final ConcurrentHashMap<RepositoryName, java.util.Map<Digest, Set<Digest>>> unindexed = new ConcurrentHashMap<>();
    /**
     * Tag to live revision, so a pull storm (AlwaysPullImages) reads no link file. Berth is the volume's
     * only writer, and every tag write and delete below updates it after changing the files; the expiry
     * bounds how long a change made behind Berth's back (an offline garbage-collect) can go unseen.
     */
    private final Cache<TagKey, Digest> tagTargets = Caffeine.newBuilder()
            .maximumSize(100_000)
            .expireAfterWrite(java.time.Duration.ofSeconds(10))
            .build();

    private record TagKey(RepositoryName repo, Tag tag) {}


    Manifests(Layout layout, Blobs blobs, RepositoryLocks locks, long cacheBytes) {
        this.layout = layout;
        this.blobs = blobs;
        this.locks = locks;
        this.cache = Caffeine.newBuilder()
                .maximumWeight(cacheBytes)
                .weigher((Digest d, LoadedManifest m) -> m.content().length + 512)
                .build();
    }

    /**
     * Validates and stores a manifest, then points {@code tags} at it. Returns the stored manifest. Under the
     * repository's lock, {@code guard} rules on every tag first (all or none are written), then what the manifest
     * refers to is checked and the links are written, so a racing delete cannot remove a child or a blob in between.
     */
    StoredManifest put(RepositoryName repo, byte[] content, @Nullable String contentType, @Nullable Digest expected,
            List<Tag> tags, TagGuard guard) {
        return put(repo, content, contentType, expected, tags, guard, true);
    }

    /**
     * Like {@link #put(RepositoryName, byte[], String, Digest, List, TagGuard)}; without {@code requireReferences},
     * the blobs and child manifests it refers to need not be stored (a pull-through cache fetches them when asked).
     */
    StoredManifest put(RepositoryName repo, byte[] content, @Nullable String contentType, @Nullable Digest expected,
            List<Tag> tags, TagGuard guard, boolean requireReferences) {
        ParsedManifest declared = ParsedManifest.parse(content, contentType);
        Digest digest = expected == null
                ? Digest.sha256(content)
                : Digest.of(expected.algorithm(), expected.algorithm().newMessageDigest().digest(content));
        if (expected != null && !digest.equals(expected)) {
            throw new StorageException(Problem.DIGEST_INVALID, "manifest digest is " + digest + ", not " + expected);
        }
        // Served as parsed from the bytes alone, so a restart or a cache eviction never changes it.
        ParsedManifest parsed = contentType == null ? declared : ParsedManifest.parse(content, null);
        locks.locked(repo, () -> {
            for (Tag tag : tags) {
                String refusal = guard.refusePush(repo, tag, tagTarget(repo, tag), digest);
                if (refusal != null) {
                    throw new StorageException(Problem.DENIED, refusal);
                }
            }
            if (requireReferences) {
                verifyReferences(repo, declared);
            }
            blobs.put(digest, content, layout.uploadDir(repo, UUID.randomUUID().toString()));
            boolean known = isRevision(repo, digest);
            if (known) {
                // A manifest pushed again (to tag it) rewrites nothing, so on a full volume only the new tag needs
                // room; its revision's time is renewed instead, as a rewrite would, for the collector's grace period.
                renew(layout.revisionLink(repo, digest), digest);
            } else {
                AtomicFiles.writeLink(layout.revisionLink(repo, digest), digest);
            }
            // Checked again now that the revision is visible: a collection (in this process or another) that buries
            // a blob after this point finds the revision when it looks again before deleting, and one that buried it
            // before is undone here (the check renames the tombstone back). Either way an acknowledged push keeps its blobs.
            Digest missing = requireReferences ? missingBlob(digest, declared) : null;
            if (missing != null) {
                if (!known) {
                    AtomicFiles.deleteLink(layout.revisionLink(repo, digest));
                }
                throw new StorageException(Problem.MANIFEST_BLOB_UNKNOWN, "blob unknown to registry: " + missing);
            }
            if (parsed.subject() != null) {
                AtomicFiles.writeLink(layout.referrerLink(repo, parsed.subject().digest(), digest), digest);
            }
            for (Tag tag : tags) {
                writeTag(repo, tag, digest);
            }
        });
        cache.put(digest, new LoadedManifest(content, parsed));
        return new LoadedManifest(content, parsed).stored(digest);
    }

    /** Renews a link's time; writes it again when it vanished meanwhile (a concurrent delete). */
    private static void renew(Path link, Digest digest) {
        try {
            Files.setLastModifiedTime(link, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()));
        } catch (java.nio.file.NoSuchFileException e) {
            AtomicFiles.writeLink(link, digest);
        } catch (IOException e) {
            throw IoFailures.of("renewing " + link.getFileName(), link, e);
        }
    }

    /**
     * Points {@code tag} at {@code digest}. When the disk fails, a tag that did not exist before is removed again, so
     * that the tags list never names a tag that has no target; an existing tag keeps its old target.
     */
    private void writeTag(RepositoryName repo, Tag tag, Digest digest) {
        try {
            Path index = layout.tagIndexLink(repo, tag, digest);
            if (!digest.equals(AtomicFiles.readLink(index))) {
                AtomicFiles.writeLink(index, digest);
            }
            AtomicFiles.writeLink(layout.tagCurrentLink(repo, tag), digest);
        } catch (RuntimeException e) {
            try {
                if (AtomicFiles.readLink(layout.tagCurrentLink(repo, tag)) == null) {
                    FileTrees.delete(layout.tagDir(repo, tag));
                }
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            throw e;
        } finally {
            // Dropped rather than set: a delete of the same tag racing this push must not be undone in the cache.
            tagTargets.invalidate(new TagKey(repo, tag));
        }
    }

    private void verifyReferences(RepositoryName repo, ParsedManifest parsed) {
        ManifestChecks.requireReferences(parsed, d -> blobs.isLinked(repo, d) && blobs.globalSize(d) >= 0, d -> isRevision(repo, d));
    }

    /** The first of the manifest's own blob and the blobs it refers to that the store lacks, or null. */
    private @Nullable Digest missingBlob(Digest manifest, ParsedManifest parsed) {
        if (blobs.globalSize(manifest) < 0) {
            return manifest;
        }
        for (Descriptor d : parsed.blobs()) {
            if (blobs.globalSize(d.digest()) < 0) {
                return d.digest();
            }
        }
        return null;
    }

    boolean isRevision(RepositoryName repo, Digest digest) {
        return digest.equals(AtomicFiles.readLink(layout.revisionLink(repo, digest)));
    }

    StoredManifest get(RepositoryName repo, Reference reference) {
        Digest digest = resolve(repo, reference);
        LoadedManifest m = load(digest);
        return m.stored(digest);
    }

    @Nullable Digest tagTarget(RepositoryName repo, Tag tag) {
        return AtomicFiles.readLink(layout.tagCurrentLink(repo, tag));
    }

    /** Resolves a reference to a digest that is a live revision of {@code repo}. */
    Digest resolve(RepositoryName repo, Reference reference) {
        return switch (reference) {
            case Reference.ByDigest d -> {
                if (!isRevision(repo, d.digest())) {
                    throw unknown(repo, reference);
                }
                yield d.digest();
            }
            // Loaded inside the cache's atomic computation: a tag write or delete, which changes the files
            // first and the cache after, waits for a load in flight, so no load can cache what it replaced.
            case Reference.ByTag t -> tagTargets.get(new TagKey(repo, t.tag()), k -> {
                Digest digest = AtomicFiles.readLink(layout.tagCurrentLink(repo, k.tag()));
                if (digest == null || !isRevision(repo, digest)) {
                    throw unknown(repo, reference);
                }
                return digest;
            });
        };
    }

    LoadedManifest load(Digest digest) {
        return cache.get(digest, d -> {
            byte[] content = blobs.read(d);
            return new LoadedManifest(content, ParsedManifest.parse(content, null));
        });
    }

    /**
     * Deletes a tag, or a manifest together with every tag that points at it. DENIED when {@code guard} protects
     * the tag, or a tag that reaches the manifest (see {@link TagGuard}); checked and done under the repository's lock.
     */
    void delete(RepositoryName repo, Reference reference, TagGuard guard) {
        locks.locked(repo, () -> deleteLocked(repo, reference, guard));
    }

    private void deleteLocked(RepositoryName repo, Reference reference, TagGuard guard) {
        switch (reference) {
            case Reference.ByTag t -> {
                Path current = layout.tagCurrentLink(repo, t.tag());
                if (AtomicFiles.readLink(current) == null) {
                    throw unknown(repo, reference);
                }
                String protection = guard.protection(repo, t.tag());
                if (protection != null) {
                    throw new StorageException(Problem.DENIED, protection + " and cannot be deleted");
                }
                FileTrees.delete(layout.tagDir(repo, t.tag()));
                tagTargets.invalidate(new TagKey(repo, t.tag()));
            }
            case Reference.ByDigest d -> {
                Digest digest = d.digest();
                if (!isRevision(repo, digest)) {
                    throw unknown(repo, reference);
                }
                String refusal = reach.refuseManifestDelete(repo, digest, guard);
                if (refusal != null) {
                    throw new StorageException(Problem.DENIED, refusal);
                }
                for (Tag tag : allTags(repo)) {
                    if (digest.equals(AtomicFiles.readLink(layout.tagCurrentLink(repo, tag)))) {
                        FileTrees.delete(layout.tagDir(repo, tag));
                        tagTargets.invalidate(new TagKey(repo, tag));
                    }
                }
                ParsedManifest parsed = tryParse(digest);
                if (parsed != null && parsed.subject() != null) {
                    AtomicFiles.deleteLink(layout.referrerLink(repo, parsed.subject().digest(), digest));
                }
                AtomicFiles.deleteLink(layout.revisionLink(repo, digest));
            }
        }
    }

    /** Deletes blob {@code digest}'s link from {@code repo} unless a tag {@code guard} protects reaches it. */
    void deleteBlob(RepositoryName repo, Digest digest, TagGuard guard) {
        locks.locked(repo, () -> {
            if (!blobs.isLinked(repo, digest)) {
                throw new StorageException(Problem.BLOB_UNKNOWN, "blob unknown to registry: " + digest);
            }
            String refusal = reach.refuseBlobDelete(repo, digest, guard);
            if (refusal != null) {
                throw new StorageException(Problem.DENIED, refusal);
            }
            blobs.unlink(repo, digest);
        });
    }

    /** The manifest's parsed form, or null when it cannot be read or parsed. */
    @Nullable ParsedManifest tryParse(Digest digest) {
        try {
            return load(digest).parsed();
        } catch (StorageException e) {
            return null;
        }
    }

    /**
     * The tags of {@code repo} for the tags API: as registry:2, a repository that never had a tag is unknown. A tag
     * directory without a current link is left out: a kill between a first push's index and current links, or in the
     * middle of a tag delete, leaves one, and listing it would show a tag that no pull can resolve.
     */
    List<Tag> listTags(RepositoryName repo) {
        if (!Files.isDirectory(layout.tagsRoot(repo))) {
            throw new StorageException(Problem.NAME_UNKNOWN, "repository name not known to registry: " + repo);
        }
        List<Tag> tags = allTags(repo);
        tags.removeIf(t -> AtomicFiles.readLink(layout.tagCurrentLink(repo, t)) == null);
        return tags;
    }

    List<Tag> allTags(RepositoryName repo) {
        List<Tag> tags = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(layout.tagsRoot(repo))) {
            for (Path dir : dirs) {
                String name = dir.getFileName().toString();
                if (!name.startsWith(".") && Files.isDirectory(dir)) {
                    try {
                        tags.add(Tag.of(name));
                    } catch (StorageException e) {
                        // not a tag Berth could have written; registry:2 would not serve it either
                    }
                }
            }
        } catch (NoSuchFileException e) {
            return tags;
        } catch (IOException e) {
            throw IoFailures.of("listing the tags of " + repo, layout.tagsRoot(repo), e);
        } catch (DirectoryIteratorException e) {
            throw IoFailures.of("listing the tags of " + repo, layout.tagsRoot(repo), e);
        }
        tags.sort(null);
        return tags;
    }

    /** The manifests in {@code repo} whose subject is {@code subject}, optionally of one artifact type. */
    List<Descriptor> referrers(RepositoryName repo, Digest subject, @Nullable String artifactType) {
        Set<Digest> found = new java.util.LinkedHashSet<>();
        if (readOnly) {
            // Nothing is written in read-only mode: what registry:2 wrote is found by reading, not indexed.
            found.addAll(unindexedReferrers(repo).getOrDefault(subject, Set.of()));
        } else {
            ensureReferrersIndexed(repo);
        }
        Path root = layout.referrersRoot(repo, subject);
        for (DigestAlgorithm alg : DigestAlgorithm.values()) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root.resolve(alg.prefix()))) {
                for (Path dir : dirs) {
                    Digest referrer = AtomicFiles.readLink(dir.resolve(Layout.LINK));
                    if (referrer != null) {
                        found.add(referrer);
                    }
                }
            } catch (NoSuchFileException e) {
                // no referrers of this algorithm
            } catch (IOException e) {
                throw IoFailures.of("listing the referrers of " + subject, root, e);
            } catch (DirectoryIteratorException e) {
                throw IoFailures.of("listing the referrers of " + subject, root, e);
            }
        }
        return ManifestChecks.referrers(found, d -> isRevision(repo, d), this::load, artifactType);
    }

    /** Read-only mode ({@code storage.maintenance.readonly}): reads write nothing, not even the referrers index. */
    void readOnly(boolean on) {
        this.readOnly = on;
    }

    /** Subject to referrers, by reading every revision of {@code repo} once per process; for read-only mode. */
    private java.util.Map<Digest, Set<Digest>> unindexedReferrers(RepositoryName repo) {
        return unindexed.computeIfAbsent(repo, r -> {
            java.util.Map<Digest, Set<Digest>> bySubject = new java.util.HashMap<>();
            if (Files.isDirectory(layout.repository(r))) {
                for (Digest digest : revisions(r)) {
                    ParsedManifest parsed = tryParse(digest);
                    if (parsed != null && parsed.subject() != null) {
                        bySubject.computeIfAbsent(parsed.subject().digest(), k -> new java.util.LinkedHashSet<>()).add(digest);
                    }
                }
            }
            return bySubject;
        });
    }

    /**
     * Berth indexes referrers as they are pushed. Manifests that registry:2 wrote into the volume are
     * indexed here by reading every revision, once per repository in each Berth process: a volume only
     * changes hands between registry:2 and Berth across a restart, so a fresh process sees them all.
     */
    private void ensureReferrersIndexed(RepositoryName repo) {
        if (referrersIndexed.contains(repo) || !Files.isDirectory(layout.repository(repo))) {
            return;
        }
        for (Digest digest : revisions(repo)) {
            ParsedManifest parsed = tryParse(digest);
            if (parsed != null && parsed.subject() != null) {
                Path link = layout.referrerLink(repo, parsed.subject().digest(), digest);
                if (!Files.exists(link)) {
                    AtomicFiles.writeLink(link, digest);
                }
            }
        }
        referrersIndexed.add(repo);
    }

    /** Every manifest revision linked into {@code repo}. */
    List<Digest> revisions(RepositoryName repo) {
        List<Digest> out = new ArrayList<>();
        for (DigestAlgorithm alg : DigestAlgorithm.values()) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(layout.revisionsRoot(repo).resolve(alg.prefix()))) {
                for (Path dir : dirs) {
                    Digest digest = AtomicFiles.readLink(dir.resolve(Layout.LINK));
                    if (digest != null) {
                        out.add(digest);
                    }
                }
            } catch (NoSuchFileException e) {
                // no revisions of this algorithm
            } catch (IOException e) {
                throw IoFailures.of("listing the manifests of " + repo, layout.revisionsRoot(repo), e);
            } catch (DirectoryIteratorException e) {
                throw IoFailures.of("listing the manifests of " + repo, layout.revisionsRoot(repo), e);
            }
        }
        return out;
    }

    private static StorageException unknown(RepositoryName repo, Reference reference) {
        return ManifestChecks.unknown(repo, reference);
    }
}
