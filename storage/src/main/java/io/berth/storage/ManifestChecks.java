package io.berth.storage;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/** The rules on manifests that every storage applies the same way, whatever it keeps them in. */
public final class ManifestChecks {
    private ManifestChecks() {}

    /**
     * MANIFEST_BLOB_UNKNOWN for the first blob of {@code parsed} that {@code blobStored} denies (it must be linked into
     * the repository and stored), or the first child manifest that is not a revision of the repository.
     */
    public static void requireReferences(ParsedManifest parsed, Predicate<Digest> blobStored, Predicate<Digest> isRevision) {
        for (Descriptor d : parsed.blobs()) {
            if (!blobStored.test(d.digest())) {
                throw new StorageException(Problem.MANIFEST_BLOB_UNKNOWN, "blob unknown to registry: " + d.digest());
            }
        }
        for (Descriptor d : parsed.children()) {
            if (!isRevision.test(d.digest())) {
                throw new StorageException(Problem.MANIFEST_BLOB_UNKNOWN, "manifest unknown to registry: " + d.digest());
            }
        }
    }

    /** DENIED with {@code refusal}, a tag rule's reason, when there is one. */
    public static void deny(@Nullable String refusal) {
        if (refusal != null) {
            throw new StorageException(Problem.DENIED, refusal);
        }
    }

    /** MANIFEST_UNKNOWN for {@code reference} of {@code repo}. */
    public static StorageException unknown(RepositoryName repo, Reference reference) {
        return new StorageException(Problem.MANIFEST_UNKNOWN, "manifest unknown: " + repo + (reference instanceof Reference.ByDigest ? "@" : ":") + reference);
    }

    /**
     * The referrers API's answer from the referrer digests {@code found}: those still revisions of the repository, of
     * {@code artifactType} when given, in digest order.
     */
    public static List<Descriptor> referrers(Collection<Digest> found, Predicate<Digest> isRevision,
            Function<Digest, LoadedManifest> load, @Nullable String artifactType) {
        List<Descriptor> out = new ArrayList<>();
        for (Digest referrer : found) {
            if (!isRevision.test(referrer)) {
                continue;
            }
            LoadedManifest m = load.apply(referrer);
            if (artifactType == null || artifactType.equals(m.parsed().artifactType())) {
                out.add(m.referrer(referrer));
            }
        }
        out.sort(Comparator.comparing(d -> d.digest().toString()));
        return out;
    }
}
