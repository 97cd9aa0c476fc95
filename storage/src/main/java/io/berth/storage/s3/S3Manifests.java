package io.berth.storage.s3;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.berth.storage.Descriptor;
import io.berth.storage.Digest;
import io.berth.storage.DigestAlgorithm;
import io.berth.storage.ParsedManifest;
import io.berth.storage.Problem;
import io.berth.storage.ProtectedReach;
import io.berth.storage.Reference;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import io.berth.storage.StoredManifest;
import io.berth.storage.Tag;
import io.berth.storage.TagGuard;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * Manifests, tags and referrers of each repository on the bucket, with registry:2's keys ({@link S3Layout}), shared by
 * every replica on it.
 *
 * <p><b>What is cached.</b> Only manifest bytes by digest (they are immutable). Tags, revisions and referrers are read
 * from the bucket on every request: S3 is read-after-write and list-after-write consistent, so a tag pushed, moved or
 * deleted through one replica is what every other replica answers the next moment.
 *
 * <p><b>How tag rules hold across replicas.</b> Every change a {@link TagGuard} rules on (a manifest push with tags,
 * a tag or manifest delete, a blob delete) runs under the repository's lock object {@code _berth/lock}
 * ({@link S3Locks}: created with {@code If-None-Match: *}, a lease in its body, an expired lease broken with
 * {@code If-Match} on its ETag, released with a conditional delete), so the guard's check and the writes it allows
 * are not interleaved with another replica's. A lease can still be broken from under a holder that stalls past it,
 * so the one write that an immutable tag depends on does not rely on the lock alone: a tag's {@code current/link} is
 * written with {@code If-Match: <the ETag read during the guard's check>}, or {@code If-None-Match: *} when the tag
 * did not exist. If another writer changed the tag in between, the store answers 412, and the push reads the tag
 * again and asks the guard again: a protected tag that now points elsewhere refuses it (DENIED). So of any number of
 * concurrent pushes of one immutable tag, through any replicas, exactly one digest wins.
 *
 * <p><b>Generation.</b> Every change rewrites {@code _berth/generation} with random bytes; {@link #generation} hashes
 * that object's ETag, so what a replica derived from a repository (signature verdicts) notices a change made by
 * another replica.
 */
final class S3Manifests implements ProtectedReach.View {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ObjectStore store;
    private final S3Blobs blobs;
    private final S3Locks locks;
    /** Runs the reads of many tags' current links in parallel; never a thread that calls this class. */
    private final Executor reads;
    private final ProtectedReach reach = new ProtectedReach(this);
    private final Cache<Digest, Loaded> cache;
    private final Set<RepositoryName> referrersIndexed = ConcurrentHashMap.newKeySet();
    private final ConcurrentHashMap<RepositoryName, Map<Digest, Set<Digest>>> unindexed = new ConcurrentHashMap<>();
    private volatile boolean readOnly;

    /** A manifest's bytes with what was parsed from them. */
    record Loaded(byte[] content, ParsedManifest parsed) {}

    /** A tag's {@code current/link} as read: its digest and the ETag to write it back conditionally. */
    private record Current(@Nullable Digest digest, String etag) {}

    S3Manifests(ObjectStore store, S3Blobs blobs, S3Locks locks, long cacheBytes, Executor reads) {
        this.store = store;
        this.reads = reads;
        this.blobs = blobs;
        this.locks = locks;
        this.cache = Caffeine.newBuilder()
                .maximumWeight(cacheBytes)
                .weigher((Digest d, Loaded m) -> m.content().length + 512)
                .build();
    }

    S3Locks locks() {
        return locks;
    }

    void readOnly(boolean on) {
        this.readOnly = on;
    }

    // ---- pushes

    /**
     * Validates and stores a manifest, then points {@code tags} at it. With tags, the guard's check and every write
     * hold the repository's lock, and each tag is written conditionally on what the check read (see the class
     * javadoc); all tags are checked before any is written. Without {@code requireReferences}, what the manifest refers
     * to need not be stored (a pull-through cache).
     */
    StoredManifest put(RepositoryName repo, byte[] content, @Nullable String contentType, @Nullable Digest expected,
            List<Tag> tags, TagGuard guard, boolean requireReferences) {
        ParsedManifest declared = ParsedManifest.parse(content, contentType);
        Digest digest = expected == null ? Digest.sha256(content) : expected;
        if (expected != null && !expected.matches(content)) {
            throw new StorageException(Problem.DIGEST_INVALID, "manifest content does not match its digest " + expected);
        }
        ParsedManifest parsed = contentType == null ? declared : ParsedManifest.parse(content, null);
        Runnable write = () -> {
            Map<Tag, @Nullable Current> read = new LinkedHashMap<>();
            for (Tag tag : tags) {
                Current current = readTag(repo, tag);
                String refusal = guard.refusePush(repo, tag, current == null ? null : current.digest(), digest);
                if (refusal != null) {
                    throw new StorageException(Problem.DENIED, refusal);
                }
                read.put(tag, current);
            }
            if (requireReferences) {
                verifyReferences(repo, declared);
            }
            blobs.putContent(digest, content);
            boolean known = isRevision(repo, digest);
            // Always written, so its time says when it was last pushed: a collection's grace period goes by it.
            store.put(S3Layout.revisionLink(repo, digest), link(digest));
            // Checked again, against the store and not this replica's memory, now that the revision is visible: a
            // collection that has not yet looked for new revisions will see it; one that deleted a blob before is seen here.
            if (store.stat(S3Layout.blobData(digest)) == null) {
                // Deleted by a collection (perhaps on another replica) since this replica last saw it: written again.
                store.put(S3Layout.blobData(digest), content);
            }
            Digest missing = requireReferences ? missingBlob(declared) : null;
            if (missing != null) {
                if (!known) {
                    store.delete(S3Layout.revisionLink(repo, digest));
                }
                throw new StorageException(Problem.MANIFEST_BLOB_UNKNOWN, "blob unknown to registry: " + missing);
            }
            if (parsed.subject() != null) {
                store.put(S3Layout.referrerLink(repo, parsed.subject().digest(), digest), link(digest));
            }
            for (Map.Entry<Tag, @Nullable Current> e : read.entrySet()) {
                writeTag(repo, e.getKey(), digest, e.getValue(), guard);
            }
            changed(repo);
        };
        if (tags.isEmpty()) {
            write.run(); // no tag to rule on: nothing to serialise with other replicas
        } else {
            locks.locked(repo, write);
        }
        cache.put(digest, new Loaded(content, parsed));
        return new StoredManifest(digest, parsed.mediaType(), content, subjectOf(parsed));
    }

    /**
     * Points {@code tag} at {@code digest} with a conditional write of its current link against {@code read}, what
     * the guard's check saw. On a conflict (another writer changed the tag since), the tag is read and checked again.
     */
    private void writeTag(RepositoryName repo, Tag tag, Digest digest, @Nullable Current read, TagGuard guard) {
        store.put(S3Layout.tagIndexLink(repo, tag, digest), link(digest));
        String key = S3Layout.tagCurrentLink(repo, tag);
        Current seen = read;
        for (;;) {
            String etag;
            try {
                etag = seen == null ? store.putIfAbsent(key, link(digest)) : store.putIfMatch(key, link(digest), seen.etag());
            } catch (StorageException e) {
                if (read == null) {
                    try {
                        if (store.get(key) == null) {
                            store.deleteAll(S3Layout.tagDir(repo, tag)); // no tag left naming nothing
                        }
                    } catch (StorageException again) {
                        e.addSuppressed(again);
                    }
                }
                throw e;
            }
            if (etag != null) {
                return;
            }
            seen = readTag(repo, tag);
            String refusal = guard.refusePush(repo, tag, seen == null ? null : seen.digest(), digest);
            if (refusal != null) {
                throw new StorageException(Problem.DENIED, refusal);
            }
        }
    }

    private @Nullable Current readTag(RepositoryName repo, Tag tag) {
        ObjectStore.Content c = store.get(S3Layout.tagCurrentLink(repo, tag));
        return c == null ? null : new Current(parseLink(c.bytes()), c.etag());
    }

    private void verifyReferences(RepositoryName repo, ParsedManifest parsed) {
        for (Descriptor d : parsed.blobs()) {
            if (!blobs.isLinked(repo, d.digest()) || blobs.globalSize(d.digest()) < 0) {
                throw new StorageException(Problem.MANIFEST_BLOB_UNKNOWN, "blob unknown to registry: " + d.digest());
            }
        }
        for (Descriptor d : parsed.children()) {
            if (!isRevision(repo, d.digest())) {
                throw new StorageException(Problem.MANIFEST_BLOB_UNKNOWN, "manifest unknown to registry: " + d.digest());
            }
        }
    }

    /** The first of the blobs the manifest refers to that the bucket lacks (asked of the store, not the cache), or null. */
    private @Nullable Digest missingBlob(ParsedManifest parsed) {
        for (Descriptor d : parsed.blobs()) {
            if (store.stat(S3Layout.blobData(d.digest())) == null) {
                blobs.forget(d.digest());
                return d.digest();
            }
        }
        return null;
    }

    // ---- reads

    boolean isRevision(RepositoryName repo, Digest digest) {
        return digest.equals(S3Blobs.readLink(store, S3Layout.revisionLink(repo, digest)));
    }

    StoredManifest get(RepositoryName repo, Reference reference) {
        Digest digest = resolve(repo, reference);
        Loaded m = load(digest);
        return new StoredManifest(digest, m.parsed().mediaType(), m.content(), subjectOf(m.parsed()));
    }

    @Override
    public @Nullable Digest tagTarget(RepositoryName repo, Tag tag) {
        return S3Blobs.readLink(store, S3Layout.tagCurrentLink(repo, tag));
    }

    /** Resolves a reference to a digest that is a live revision of {@code repo}, reading the bucket each time. */
    Digest resolve(RepositoryName repo, Reference reference) {
        Digest digest = switch (reference) {
            case Reference.ByDigest d -> d.digest();
            case Reference.ByTag t -> tagTarget(repo, t.tag());
        };
        if (digest == null || !isRevision(repo, digest)) {
            throw unknown(repo, reference);
        }
        return digest;
    }

    Loaded load(Digest digest) {
        return cache.get(digest, d -> {
            byte[] content = blobs.readContent(d);
            return new Loaded(content, ParsedManifest.parse(content, null));
        });
    }

    @Override
    public @Nullable ParsedManifest tryParse(Digest digest) {
        try {
            return load(digest).parsed();
        } catch (StorageException e) {
            if (e.problem() == Problem.STORAGE_FAILED) {
                throw e; // the store failed: not a manifest that cannot be read
            }
            return null;
        }
    }

    /**
     * The tags of {@code repo} for the tags API, from one listing of its tags (no object read per tag). As on the
     * filesystem, a repository with manifests but no tag has none, and one without manifests is unknown. A tag without
     * a current link (a push killed between its index and current links, or a delete half done) is left out.
     */
    List<Tag> listTags(RepositoryName repo) {
        Set<Tag> withCurrent = new TreeSet<>();
        boolean[] any = {false};
        String root = S3Layout.tagsRoot(repo);
        store.list(root, o -> {
            any[0] = true;
            String rest = o.key().substring(root.length());
            int slash = rest.indexOf('/');
            if (slash > 0 && rest.substring(slash).equals("/current/" + S3Layout.LINK)) {
                Tag tag = tagOrNull(rest.substring(0, slash));
                if (tag != null) {
                    withCurrent.add(tag);
                }
            }
        });
        if (!any[0] && !store.listDirectories(S3Layout.repository(repo)).contains(S3Layout.repository(repo) + S3Layout.MANIFESTS)) {
            throw new StorageException(Problem.NAME_UNKNOWN, "repository name not known to registry: " + repo);
        }
        return new ArrayList<>(withCurrent);
    }

    /** Every tag directory of {@code repo}, with or without a current link, in lexical order. */
    @Override
    public List<Tag> allTags(RepositoryName repo) {
        List<Tag> tags = new ArrayList<>();
        String root = S3Layout.tagsRoot(repo);
        for (String dir : store.listDirectories(root)) {
            Tag tag = tagOrNull(dir.substring(root.length(), dir.length() - 1));
            if (tag != null) {
                tags.add(tag);
            }
        }
        tags.sort(null);
        return tags;
    }

    /** The tags pointing at {@code digest}. */
    List<Tag> tagsOf(RepositoryName repo, Digest digest) {
        List<Tag> out = new ArrayList<>();
        tagTargets(repo).forEach((tag, target) -> {
            if (digest.equals(target)) {
                out.add(tag);
            }
        });
        return out;
    }

    /** Every tag of {@code repo} that has a target, with it, in lexical order: one listing and the links read in parallel. */
    Map<Tag, Digest> tagTargets(RepositoryName repo) {
        List<Tag> tags = allTags(repo);
        List<CompletableFuture<Optional<Digest>>> targets = new ArrayList<>(tags.size());
        for (Tag tag : tags) {
            targets.add(CompletableFuture.supplyAsync(() -> Optional.ofNullable(tagTarget(repo, tag)), reads));
        }
        Map<Tag, Digest> out = new LinkedHashMap<>();
        for (int i = 0; i < tags.size(); i++) {
            Tag tag = tags.get(i);
            ObjectStore.join(targets.get(i)).ifPresent(target -> out.put(tag, target));
        }
        return out;
    }

    /** Every manifest revision of {@code repo}, named by its key (as registry:2 enumerates them). */
    List<Digest> revisions(RepositoryName repo) {
        List<Digest> out = new ArrayList<>();
        String root = S3Layout.revisionsRoot(repo);
        store.list(root, o -> {
            Digest d = digestOfLinkKey(o.key().substring(root.length()));
            if (d != null) {
                out.add(d);
            }
        });
        return out;
    }

    /** The manifests in {@code repo} whose subject is {@code subject}, optionally of one artifact type. */
    List<Descriptor> referrers(RepositoryName repo, Digest subject, @Nullable String artifactType) {
        Set<Digest> found = new LinkedHashSet<>();
        if (readOnly) {
            found.addAll(unindexedReferrers(repo).getOrDefault(subject, Set.of()));
        } else {
            ensureReferrersIndexed(repo);
        }
        String root = S3Layout.referrersRoot(repo, subject);
        store.list(root, o -> {
            Digest d = digestOfLinkKey(o.key().substring(root.length()));
            if (d != null) {
                found.add(d);
            }
        });
        List<Descriptor> out = new ArrayList<>();
        for (Digest referrer : found) {
            if (!isRevision(repo, referrer)) {
                continue;
            }
            Loaded m = load(referrer);
            ParsedManifest p = m.parsed();
            if (artifactType == null || artifactType.equals(p.artifactType())) {
                out.add(new Descriptor(p.mediaType(), referrer, m.content().length, p.artifactType(), p.annotations()));
            }
        }
        out.sort((a, b) -> a.digest().toString().compareTo(b.digest().toString()));
        return out;
    }

    /**
     * Indexes the referrers among the manifests registry:2 wrote into the bucket (it keeps no index), by reading every
     * revision once per repository in this process: a bucket changes hands between registry:2 and Berth across a
     * restart, and every referrer Berth pushes is indexed as it is pushed.
     */
    private void ensureReferrersIndexed(RepositoryName repo) {
        if (referrersIndexed.contains(repo)) {
            return;
        }
        for (Map.Entry<Digest, Set<Digest>> e : scanReferrers(repo).entrySet()) {
            for (Digest referrer : e.getValue()) {
                String key = S3Layout.referrerLink(repo, e.getKey(), referrer);
                if (store.stat(key) == null) {
                    store.put(key, link(referrer));
                }
            }
        }
        referrersIndexed.add(repo);
    }

    /** Subject to referrers, by reading every revision of {@code repo} once per process; for read-only mode. */
    private Map<Digest, Set<Digest>> unindexedReferrers(RepositoryName repo) {
        return unindexed.computeIfAbsent(repo, this::scanReferrers);
    }

    private Map<Digest, Set<Digest>> scanReferrers(RepositoryName repo) {
        Map<Digest, Set<Digest>> bySubject = new HashMap<>();
        for (Digest digest : revisions(repo)) {
            ParsedManifest parsed = tryParse(digest);
            if (parsed != null && parsed.subject() != null) {
                bySubject.computeIfAbsent(parsed.subject().digest(), k -> new LinkedHashSet<>()).add(digest);
            }
        }
        return bySubject;
    }

    // ---- deletes

    /**
     * Deletes a tag, or a manifest with every tag that points at it. DENIED when {@code guard} protects the tag, or a
     * tag that reaches the manifest; checked and done under the repository's lock.
     */
    void delete(RepositoryName repo, Reference reference, TagGuard guard) {
        locks.locked(repo, () -> {
            switch (reference) {
                case Reference.ByTag t -> {
                    if (tagTarget(repo, t.tag()) == null) {
                        throw unknown(repo, reference);
                    }
                    String protection = guard.protection(repo, t.tag());
                    if (protection != null) {
                        throw new StorageException(Problem.DENIED, protection + " and cannot be deleted");
                    }
                    store.deleteAll(S3Layout.tagDir(repo, t.tag()));
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
                    for (Tag tag : tagsOf(repo, digest)) {
                        store.deleteAll(S3Layout.tagDir(repo, tag));
                    }
                    ParsedManifest parsed = tryParse(digest);
                    if (parsed != null && parsed.subject() != null) {
                        store.delete(S3Layout.referrerLink(repo, parsed.subject().digest(), digest));
                    }
                    store.delete(S3Layout.revisionLink(repo, digest));
                }
            }
            changed(repo);
        });
    }

    /** Deletes blob {@code digest}'s link from {@code repo} unless a tag {@code guard} protects reaches it. */
    void deleteBlob(RepositoryName repo, Digest digest, TagGuard guard) {
        locks.locked(repo, () -> {
            if (!blobs.isLinked(repo, digest)) {
                throw S3Blobs.unknown(digest);
            }
            String refusal = reach.refuseBlobDelete(repo, digest, guard);
            if (refusal != null) {
                throw new StorageException(Problem.DENIED, refusal);
            }
            blobs.unlink(repo, digest);
            changed(repo);
        });
    }

    // ---- generation

    /** A number that changes with every change of {@code repo} made through any replica: its generation object's ETag. */
    long generation(RepositoryName repo) {
        ObjectStore.Stat stat = store.stat(S3Layout.generation(repo));
        if (stat == null) {
            return 0;
        }
        long h = 1125899906842597L;
        for (int i = 0; i < stat.etag().length(); i++) {
            h = 31 * h + stat.etag().charAt(i);
        }
        return h;
    }

    /** Rewrites {@code repo}'s generation object with new random bytes, so its ETag changes. */
    void changed(RepositoryName repo) {
        byte[] bytes = new byte[16];
        RANDOM.nextBytes(bytes);
        store.put(S3Layout.generation(repo), bytes);
    }

    // ---- helpers

    static byte[] link(Digest digest) {
        return digest.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static @Nullable Digest parseLink(byte[] bytes) {
        try {
            return Digest.parse(new String(bytes, StandardCharsets.US_ASCII).strip());
        } catch (StorageException e) {
            return null;
        }
    }

    /** The digest of a key {@code <alg>/<hex>/link} (relative to a digest directory's parent), or null. */
    static @Nullable Digest digestOfLinkKey(String rest) {
        String[] parts = rest.split("/");
        if (parts.length != 3 || !parts[2].equals(S3Layout.LINK)) {
            return null;
        }
        for (DigestAlgorithm alg : DigestAlgorithm.values()) {
            if (alg.prefix().equals(parts[0])) {
                try {
                    return new Digest(alg, parts[1]);
                } catch (StorageException e) {
                    return null;
                }
            }
        }
        return null;
    }

    private static @Nullable Tag tagOrNull(String name) {
        try {
            return Tag.of(name);
        } catch (StorageException e) {
            return null; // not a tag Berth could have written; registry:2 would not serve it either
        }
    }

    private static @Nullable Digest subjectOf(ParsedManifest parsed) {
        return parsed.subject() == null ? null : parsed.subject().digest();
    }

    private static StorageException unknown(RepositoryName repo, Reference reference) {
        return new StorageException(Problem.MANIFEST_UNKNOWN, "manifest unknown: " + repo + (reference instanceof Reference.ByDigest ? "@" : ":") + reference);
    }
}
