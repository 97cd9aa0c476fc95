package io.berth.storage;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What the protected tags of a repository reach, so that none of it is deleted while they stand: the manifest each
 * points at, an index's child manifests (recursively), and their config and layer blobs. Referrers are not reached
 * (see {@link TagGuard}). Callers hold the repository's lock, so no tag moves while this looks.
 *
 * <p>Each delete walks the protected tags' manifests, parsed from the manifest cache: deletes are rare, and the
 * walk skips manifests an earlier tag already covered.
 */
public final class ProtectedReach {
    /** What the walk reads of a repository: its tags, their targets, and parsed manifests. */
    public interface View {
        List<Tag> allTags(RepositoryName repo);

        @Nullable Digest tagTarget(RepositoryName repo, Tag tag);

        /** The manifest's parsed form, or null when it cannot be read or parsed. */
        @Nullable ParsedManifest tryParse(Digest digest);
    }

    private final View manifests;

    ProtectedReach(Manifests manifests) {
        this(new View() {
            @Override
            public List<Tag> allTags(RepositoryName repo) {
                return manifests.allTags(repo);
            }

            @Override
            public @Nullable Digest tagTarget(RepositoryName repo, Tag tag) {
                return manifests.tagTarget(repo, tag);
            }

            @Override
            public @Nullable ParsedManifest tryParse(Digest digest) {
                return manifests.tryParse(digest);
            }
        });
    }

    /** The walk over what {@code view} shows, for another storage backend (the S3 one). */
    public ProtectedReach(View view) {
        this.manifests = view;
    }

    /** Why manifest {@code digest} may not be deleted from {@code repo}, or null when no protected tag reaches it. */
    public @Nullable String refuseManifestDelete(RepositoryName repo, Digest digest, TagGuard guard) {
        return refuse(repo, guard, digest, false);
    }

    /** Why blob {@code digest} may not be deleted from {@code repo}, or null when no protected tag reaches it. */
    public @Nullable String refuseBlobDelete(RepositoryName repo, Digest digest, TagGuard guard) {
        return refuse(repo, guard, digest, true);
    }

    private @Nullable String refuse(RepositoryName repo, TagGuard guard, Digest digest, boolean blob) {
        if (guard == TagGuard.NONE) {
            return null;
        }
        Set<Digest> seen = new HashSet<>();
        for (Tag tag : manifests.allTags(repo)) {
            String protection = guard.protection(repo, tag);
            Digest target = protection == null ? null : manifests.tagTarget(repo, tag);
            if (target == null) {
                continue;
            }
            if (!blob && target.equals(digest)) {
                return protection + ", and the manifest it points at cannot be deleted";
            }
            Deque<Digest> work = new ArrayDeque<>();
            if (seen.add(target)) {
                work.add(target);
            }
            while (!work.isEmpty()) {
                Digest m = work.poll();
                if (!blob && m.equals(digest)) {
                    return protection + ", and manifest " + digest + ", which it reaches, cannot be deleted";
                }
                ParsedManifest parsed = manifests.tryParse(m);
                if (parsed == null) {
                    continue;
                }
                if (blob && parsed.blobs().stream().anyMatch(d -> d.digest().equals(digest))) {
                    return protection + ", and blob " + digest + ", which it reaches, cannot be deleted";
                }
                for (Descriptor child : parsed.children()) {
                    if (seen.add(child.digest())) {
                        work.add(child.digest());
                    }
                }
            }
        }
        return null;
    }
}
