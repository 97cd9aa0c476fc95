package io.berth.storage;

import io.berth.storage.Fsck.Kind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** The repository half of {@link Fsck}: links, tags, manifests' references, the referrers index and uploads. */
final class FsckRepositories {
    /** Manifests larger than this are not parsed (the largest Berth accepts is configurable, 4 MiB by default). */
    private static final long MAX_MANIFEST_BYTES = 64L << 20;

    private final Fsck fsck;
    private final Layout layout;
    /** Every blob a layer or revision link of some repository names. */
    private final Set<Digest> referenced = new HashSet<>();

    FsckRepositories(Fsck fsck, Layout layout) {
        this.fsck = fsck;
        this.layout = layout;
    }

    Set<Digest> referenced() {
        return referenced;
    }

    /** Checks every repository, including those with only uploads; returns how many. */
    int checkAll() {
        Map<RepositoryName, Path> repos = new LinkedHashMap<>();
        RepositoryWalker.forEachRepository(layout, repos::put);
        RepositoryWalker.forEachWithUploads(layout, repos::putIfAbsent);
        repos.forEach(this::check);
        return repos.size();
    }

    private void check(RepositoryName repo, Path dir) {
        Set<Digest> layers = checkLayers(dir.resolve(Layout.LAYERS));
        Map<Digest, Path> revisions = readLinks(layout.revisionsRoot(repo));
        Map<Digest, ParsedManifest> parsed = new HashMap<>();
        revisions.forEach((digest, link) -> {
            referenced.add(digest);
            if (!fsck.present(digest)) {
                fsck.report(Kind.MISSING_MANIFEST_BLOB, link, digest + " is not in the blob store", null);
                return;
            }
            ParsedManifest m = parse(digest, link);
            if (m != null) {
                parsed.put(digest, m);
            }
        });
        Set<Digest> live = new HashSet<>(revisions.keySet());
        live.removeIf(d -> !fsck.present(d));
        parsed.forEach((digest, m) -> {
            for (Descriptor d : m.blobs()) {
                if (!layers.contains(d.digest()) || !fsck.present(d.digest())) {
                    fsck.report(Kind.INCOMPLETE_MANIFEST, java.util.Objects.requireNonNull(revisions.get(digest)), digest + " refers to blob " + d.digest() + ", which "
                            + (layers.contains(d.digest()) ? "is not in the blob store" : "is not linked into " + repo), null);
                }
            }
            for (Descriptor d : m.children()) {
                if (!live.contains(d.digest())) {
                    fsck.report(Kind.INCOMPLETE_MANIFEST, java.util.Objects.requireNonNull(revisions.get(digest)), digest + " refers to manifest " + d.digest()
                            + ", which " + repo + " does not hold", null);
                }
            }
        });
        checkTags(repo, live);
        checkReferrers(repo, dir.resolve("_berth").resolve("referrers"), parsed);
        checkUploads(dir.resolve(Layout.UPLOADS));
    }

    private @Nullable ParsedManifest parse(Digest digest, Path link) {
        Path data = layout.blobData(digest);
        try {
            if (Files.size(data) > MAX_MANIFEST_BYTES) {
                fsck.report(Kind.UNREADABLE_MANIFEST, link, digest + " is larger than " + MAX_MANIFEST_BYTES + " bytes", null);
                return null;
            }
            return ParsedManifest.parse(Files.readAllBytes(data), null);
        } catch (StorageException e) {
            fsck.report(Kind.UNREADABLE_MANIFEST, link, digest + ": " + e.getMessage(), null);
            return null;
        } catch (IOException e) {
            fsck.report(Kind.UNREADABLE_MANIFEST, link, digest + ": " + e, null);
            return null;
        }
    }

    /** The layer links of a repository; those whose blob is gone are reported (and removed when repairing). */
    private Set<Digest> checkLayers(Path layersRoot) {
        Set<Digest> layers = new HashSet<>();
        readLinks(layersRoot).forEach((digest, link) -> {
            referenced.add(digest);
            if (fsck.present(digest)) {
                layers.add(digest);
                return;
            }
            String repaired = null;
            if (fsck.repairing()) {
                AtomicFiles.deleteLink(link);
                repaired = "deleted";
            }
            fsck.report(Kind.DANGLING_LAYER_LINK, link, digest + " is not in the blob store", repaired);
        });
        return layers;
    }

    /**
     * The well-formed links under {@code root}/&lt;alg&gt;/&lt;hex&gt;/link, by digest. A link that does not name its
     * path's digest is reported; temp files beside links are reported (and removed when old enough).
     */
    private Map<Digest, Path> readLinks(Path root) {
        Map<Digest, Path> out = new LinkedHashMap<>();
        for (DigestAlgorithm alg : DigestAlgorithm.values()) {
            for (Path dir : Fsck.list(root.resolve(alg.prefix()))) {
                Digest digest = Fsck.digestNamed(alg, dir.getFileName().toString());
                if (digest == null || !Files.isDirectory(dir)) {
                    continue;
                }
                tempFilesIn(dir);
                Path link = dir.resolve(Layout.LINK);
                LinkState state = read(link, digest);
                if (state == LinkState.OK) {
                    out.put(digest, link);
                } else if (state == LinkState.WRONG) {
                    fsck.report(Kind.BROKEN_LINK, link, "does not hold " + digest, null);
                }
            }
        }
        return out;
    }

    private enum LinkState { OK, ABSENT, WRONG }

    private static LinkState read(Path link, Digest expected) {
        try {
            String text = new String(Files.readAllBytes(link), StandardCharsets.US_ASCII).strip();
            return text.equals(expected.toString()) ? LinkState.OK : LinkState.WRONG;
        } catch (NoSuchFileException e) {
            return LinkState.ABSENT;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void tempFilesIn(Path dir) {
        for (Path entry : Fsck.list(dir)) {
            if (Fsck.isTempName(entry.getFileName().toString())) {
                fsck.strayTemp(entry);
            }
        }
    }

    private void checkTags(RepositoryName repo, Set<Digest> live) {
        for (Path tagDir : Fsck.list(layout.tagsRoot(repo))) {
            String name = tagDir.getFileName().toString();
            if (Fsck.isTempName(name)) {
                fsck.strayTemp(tagDir);
                continue;
            }
            if (!Files.isDirectory(tagDir)) {
                continue;
            }
            Path currentDir = tagDir.resolve("current");
            tempFilesIn(currentDir);
            Path current = currentDir.resolve(Layout.LINK);
            @Nullable Digest target = AtomicFiles.readLink(current);
            if (target == null && Files.exists(current)) {
                fsck.report(Kind.BROKEN_LINK, current, "is not a digest", null);
            } else if (target == null) {
                String repaired = null;
                if (fsck.repairing() && fsck.oldEnough(tagDir)) {
                    FileTrees.delete(tagDir);
                    repaired = "deleted";
                }
                fsck.report(Kind.HALF_TAG, tagDir, repo + ":" + name + " has no current link", repaired);
                continue;
            } else if (!live.contains(target)) {
                fsck.report(Kind.DANGLING_TAG, current, repo + ":" + name + " points at " + target + ", which " + repo + " does not hold", null);
            }
            readLinks(tagDir.resolve("index")).forEach((digest, link) -> {
                if (!live.contains(digest)) {
                    fsck.report(Kind.STALE_TAG_INDEX, link, repo + ":" + name + " once pointed at " + digest, null);
                }
            });
        }
    }

    /**
     * Every entry of the referrers index must name a live manifest whose subject is the entry's subject; every live
     * manifest with a subject must have its entry.
     */
    private void checkReferrers(RepositoryName repo, Path referrersRoot, Map<Digest, ParsedManifest> parsed) {
        Set<String> indexed = new HashSet<>();
        for (DigestAlgorithm subjectAlg : DigestAlgorithm.values()) {
            for (Path subjectDir : Fsck.list(referrersRoot.resolve(subjectAlg.prefix()))) {
                Digest subject = Fsck.digestNamed(subjectAlg, subjectDir.getFileName().toString());
                if (subject == null) {
                    continue;
                }
                for (DigestAlgorithm alg : DigestAlgorithm.values()) {
                    for (Path dir : Fsck.list(subjectDir.resolve(alg.prefix()))) {
                        Digest referrer = Fsck.digestNamed(alg, dir.getFileName().toString());
                        if (referrer == null) {
                            continue;
                        }
                        tempFilesIn(dir);
                        Path link = dir.resolve(Layout.LINK);
                        LinkState state = read(link, referrer);
                        if (state == LinkState.ABSENT) {
                            continue;
                        }
                        ParsedManifest m = parsed.get(referrer);
                        Descriptor actual = m == null ? null : m.subject();
                        if (state == LinkState.OK && actual != null && actual.digest().equals(subject)) {
                            indexed.add(subject + " " + referrer);
                        } else if (state == LinkState.OK && m != null) {
                            removeReferrer(Kind.BROKEN_REFERRER, link, referrer + " is listed as a referrer of " + subject
                                    + " but its subject is " + (actual == null ? "none" : actual.digest()));
                        } else {
                            removeReferrer(Kind.STALE_REFERRER, link, state == LinkState.WRONG
                                    ? "does not hold " + referrer : referrer + " is not a manifest of " + repo);
                        }
                    }
                }
            }
        }
        parsed.forEach((digest, m) -> {
            Descriptor subject = m.subject();
            if (subject != null && !indexed.contains(subject.digest() + " " + digest)) {
                Path link = layout.referrerLink(repo, subject.digest(), digest);
                String repaired = null;
                if (fsck.repairing()) {
                    AtomicFiles.writeLink(link, digest);
                    repaired = "written";
                }
                fsck.report(Kind.MISSING_REFERRER, link, digest + " refers to " + subject.digest(), repaired);
            }
        });
    }

    private void removeReferrer(Kind kind, Path link, String detail) {
        String repaired = null;
        if (fsck.repairing()) {
            AtomicFiles.deleteLink(link);
            repaired = "deleted";
        }
        fsck.report(kind, link, detail, repaired);
    }

    private void checkUploads(Path uploadsRoot) {
        for (Path dir : Fsck.list(uploadsRoot)) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            long size;
            try {
                size = Files.size(dir.resolve(Layout.DATA));
            } catch (IOException e) {
                size = -1;
            }
            String repaired = null;
            if (fsck.repairing() && fsck.oldEnough(dir)) {
                FileTrees.delete(dir);
                repaired = "deleted";
            }
            fsck.report(Kind.HALF_UPLOAD, dir, size < 0 ? "no data" : size + " bytes", repaired);
        }
    }
}
