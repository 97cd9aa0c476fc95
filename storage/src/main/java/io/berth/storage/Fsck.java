package io.berth.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Checks a volume in registry:2's layout ({@link Layout}) and, with {@link #repair}, makes the changes that are
 * safe. Run it while no Berth or registry:2 writes to the volume, as {@code garbage-collect}.
 *
 * <p>What is checked:
 * <ul>
 *   <li>every blob's content against its digest, read as a stream (never held in memory);
 *   <li>every link: {@code _layers}, {@code _manifests/revisions}, each tag's {@code current} and {@code index}
 *       links, and Berth's referrers index under {@code _berth/referrers}: that it names the digest of its path
 *       and that what it names exists;
 *   <li>that each manifest's config, layers and child manifests are in its repository;
 *   <li>what is left over: blobs no link names, temp files of interrupted writes, unfinished uploads.
 * </ul>
 *
 * <p>{@link Kind#damage} tells damage (a read could fail or be wrong) from leftovers (space, nothing visible).
 *
 * <p>What {@code repair} changes, and why only that:
 * <ul>
 *   <li>A corrupt blob is <em>quarantined</em>: moved to {@code <root>/berth-quarantine/}, not deleted. While it
 *       sits in the store, a client's HEAD finds it and never pushes it again, and a new upload of the same digest
 *       keeps the stored copy; once it is moved aside the next push heals it. Nothing is lost that was not already.
 *   <li>Layer links whose blob is gone are removed: such a link only makes a HEAD say 404 later than it could, and a
 *       re-push writes it again. registry:2's own garbage collector leaves these behind.
 *   <li>Referrers index entries that are wrong, stale or missing are removed or written: the index is derived from
 *       the manifests, and Berth rebuilds missing entries itself.
 *   <li>Temp files, tag directories without a {@code current} link (a tag write or delete cut short) and unfinished
 *       uploads are removed once nothing has touched them for {@link #minAge} (default one hour, Berth's
 *       {@code berth.uploads.idleTimeout}), so that a client resuming an upload soon after a crash still can.
 * </ul>
 * A tag or revision whose manifest is missing, or a manifest whose blobs are missing, is reported and left: removing
 * the link would make the volume consistent but lose the evidence of a lost write, and a push of the same content
 * heals it. Orphan blobs are left to {@code garbage-collect}.
 */
public final class Fsck {
    /** A quarantined blob goes under this directory of the storage root, outside registry:2's tree. */
    public static final String QUARANTINE = "berth-quarantine";

    /** What a finding is. */
    public enum Kind {
        CORRUPT_BLOB(true, "blob content does not hash to its digest"),
        MISSING_MANIFEST_BLOB(true, "a manifest revision is linked but its content is not in the blob store"),
        INCOMPLETE_MANIFEST(true, "a manifest refers to a blob or child manifest its repository does not hold"),
        DANGLING_TAG(true, "a tag points at a manifest its repository does not hold"),
        BROKEN_LINK(true, "a link file is malformed, or names another digest than its path"),
        BROKEN_REFERRER(true, "a referrers index entry names a manifest with another subject"),
        DANGLING_LAYER_LINK(false, "a layer link names a blob that is not in the store"),
        STALE_TAG_INDEX(false, "a tag's history names a manifest that is gone"),
        STALE_REFERRER(false, "a referrers index entry names a manifest that is gone, or is malformed"),
        MISSING_REFERRER(false, "a manifest with a subject is missing from the referrers index"),
        UNREADABLE_MANIFEST(false, "a manifest Berth cannot parse; what it refers to is not checked"),
        HALF_TAG(false, "a tag directory without a current link, from a tag write or delete cut short"),
        ORPHAN_BLOB(false, "no repository links the blob; garbage-collect removes it"),
        STRAY_TEMP_FILE(false, "a temp file or empty blob directory left by an interrupted write"),
        HALF_UPLOAD(false, "an upload that was never finished"),
        BURIED_BLOB(false, "a blob an online collection was deleting when it stopped: Berth still serves it, and the next "
                + "collection deletes it or, if something refers to it, restores it (registry:2 sees it as missing)");

        private final boolean damage;
        private final String meaning;

        Kind(boolean damage, String meaning) {
            this.damage = damage;
            this.meaning = meaning;
        }

        /** Whether a read can fail or be wrong because of it; otherwise it only takes space. */
        public boolean damage() {
            return damage;
        }

        public String meaning() {
            return meaning;
        }
    }

    /**
     * One problem.
     *
     * @param kind what it is
     * @param path the file or directory, relative to the storage root
     * @param detail what was found
     * @param repaired what the repair did, or null when nothing was changed
     */
    public record Finding(Kind kind, String path, String detail, @Nullable String repaired) {}

    /** How far the blob check is: blobs and bytes hashed, of the totals. */
    public record Progress(long blobsDone, long blobsTotal, long bytesDone, long bytesTotal) {}

    /**
     * What a check found.
     *
     * @param findings every problem, in the order found
     * @param blobs how many blobs were hashed
     * @param bytes their total size
     * @param repositories how many repositories were checked
     */
    public record Report(List<Finding> findings, long blobs, long bytes, int repositories) {
        /** Whether any finding is damage ({@link Kind#damage}). */
        public boolean damaged() {
            return findings.stream().anyMatch(f -> f.kind().damage());
        }

        public List<Finding> of(Kind kind) {
            return findings.stream().filter(f -> f.kind() == kind).toList();
        }
    }

    private final Path root;
    private final Layout layout;
    private boolean repair;
    private Duration minAge = Duration.ofHours(1);
    private Clock clock = Clock.systemUTC();
    private Consumer<Progress> progress = p -> {};
    private long progressEveryBlobs = 1000;
    private Duration progressInterval = Duration.ofSeconds(5);

    private final List<Finding> findings = new ArrayList<>();
    /** Blobs in the store whose content matches their digest, or that were not quarantined. */
    private final Set<Digest> present = new HashSet<>();

    private Fsck(Path root) {
        this.root = root.toAbsolutePath().normalize();
        this.layout = new Layout(this.root);
    }

    /** A check of the storage rooted at {@code rootDirectory} (registry:2's {@code rootdirectory}). */
    public static Fsck of(Path rootDirectory) {
        return new Fsck(rootDirectory);
    }

    /** Whether to make the safe changes described above (default: only report). */
    public Fsck repair(boolean on) {
        this.repair = on;
        return this;
    }

    /** Leftovers younger than this are reported but never removed (default one hour). */
    public Fsck minAge(Duration age) {
        if (age.isNegative()) {
            throw new IllegalArgumentException("the minimum age must not be negative, got " + age);
        }
        this.minAge = age;
        return this;
    }

    public Fsck clock(Clock clock) {
        this.clock = clock;
        return this;
    }

    /** Calls {@code listener} every {@code everyBlobs} blobs hashed or every {@code interval}, whichever comes first. */
    public Fsck progress(Consumer<Progress> listener, long everyBlobs, Duration interval) {
        if (everyBlobs < 1) {
            throw new IllegalArgumentException("progress needs a positive blob count, got " + everyBlobs);
        }
        this.progress = listener;
        this.progressEveryBlobs = everyBlobs;
        this.progressInterval = interval;
        return this;
    }

    /** Runs the check (and the repair, if asked); once per instance. */
    public Report run() {
        if (!Files.isDirectory(layout.v2())) {
            throw new StorageException(Problem.NAME_UNKNOWN, "no registry:2 volume at " + root + " (no docker/registry/v2)");
        }
        long[] totals = checkBlobs();
        FsckRepositories repos = new FsckRepositories(this, layout);
        int repositories = repos.checkAll();
        for (Digest digest : present) {
            if (!repos.referenced().contains(digest)) {
                report(Kind.ORPHAN_BLOB, layout.blobDir(digest), digest.toString(), null);
            }
        }
        checkTempFilesAt(root);
        return new Report(List.copyOf(findings), totals[0], totals[1], repositories);
    }

    // ---- shared with FsckRepositories

    boolean repairing() {
        return repair;
    }

    boolean present(Digest digest) {
        return present.contains(digest);
    }

    void report(Kind kind, Path path, String detail, @Nullable String repaired) {
        findings.add(new Finding(kind, root.relativize(path).toString(), detail, repaired));
    }

    /** Whether nothing has touched {@code path} (the newest modification in its tree) for {@link #minAge}. */
    boolean oldEnough(Path path) {
        Instant cutoff = clock.instant().minus(minAge);
        try (var files = Files.walk(path)) {
            return files.allMatch(p -> {
                try {
                    return Files.getLastModifiedTime(p).toInstant().isBefore(cutoff);
                } catch (IOException e) {
                    return false;
                }
            });
        } catch (IOException | UncheckedIOException e) {
            return false;
        }
    }

    static boolean isTempName(String name) {
        return name.startsWith(".") && name.endsWith(".tmp");
    }

    /** Reports (and removes, when old enough) a temp file of an interrupted write. */
    void strayTemp(Path file) {
        String repaired = null;
        if (repair && oldEnough(file)) {
            FileTrees.delete(file);
            repaired = "deleted";
        }
        report(Kind.STRAY_TEMP_FILE, file, "temp file of an interrupted write", repaired);
    }

    static List<Path> list(Path dir) {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            s.forEach(out::add);
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.sort(null);
        return out;
    }

    // ---- blobs

    /**
     * A blob to hash: its data file, or the tombstone an interrupted collection left ({@link Layout#TOMBSTONE}). The
     * path is computed again from the digest, so a large volume costs little memory.
     */
    private record BlobFile(Digest digest, long size, boolean buried) {}

    private Path file(BlobFile blob) {
        Path data = layout.blobData(blob.digest());
        return blob.buried() ? data.resolveSibling(Layout.TOMBSTONE) : data;
    }

    /** Hashes every blob; returns {blobs, bytes}. */
    private long[] checkBlobs() {
        List<BlobFile> all = new ArrayList<>();
        long totalBytes = 0;
        for (DigestAlgorithm alg : DigestAlgorithm.values()) {
            for (Path prefix : list(layout.blobsRoot().resolve(alg.prefix()))) {
                for (Path dir : list(prefix)) {
                    String name = dir.getFileName().toString();
                    if (isTempName(name)) {
                        strayTemp(dir);
                        continue;
                    }
                    Digest digest = digestNamed(alg, name);
                    if (digest == null || !Files.isDirectory(dir) || !name.startsWith(prefix.getFileName().toString())) {
                        continue; // not something Berth or registry:2 writes; left alone
                    }
                    for (Path entry : list(dir)) {
                        if (isTempName(entry.getFileName().toString())) {
                            strayTemp(entry);
                        }
                    }
                    Path data = dir.resolve(Layout.DATA);
                    BlobFile blob = blobFile(digest, data, false);
                    if (blob == null) {
                        blob = buried(digest, data);
                    }
                    if (blob == null) {
                        emptyBlobDirectory(dir);
                    } else {
                        all.add(blob);
                        totalBytes += blob.size();
                    }
                }
            }
        }
        long done = 0;
        long bytesDone = 0;
        long lastReport = clock.millis();
        for (BlobFile blob : all) {
            if (verify(blob)) {
                present.add(blob.digest());
            }
            done++;
            bytesDone += blob.size();
            long now = clock.millis();
            if (done % progressEveryBlobs == 0 || now - lastReport >= progressInterval.toMillis() || done == all.size()) {
                progress.accept(new Progress(done, all.size(), bytesDone, totalBytes));
                lastReport = now;
            }
        }
        return new long[] {all.size(), totalBytes};
    }

    private static @Nullable BlobFile blobFile(Digest digest, Path file, boolean buried) {
        try {
            return new BlobFile(digest, Files.size(file), buried);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The tombstone of a blob whose collection stopped half way, reported; it counts as present, as Berth serves it.
     * A repair renames it back, which is always safe: the next collection decides again.
     */
    private @Nullable BlobFile buried(Digest digest, Path data) {
        Path tombstone = data.resolveSibling(Layout.TOMBSTONE);
        BlobFile blob = blobFile(digest, tombstone, true);
        if (blob == null || !repair) {
            if (blob != null) {
                report(Kind.BURIED_BLOB, tombstone, digest.toString(), null);
            }
            return blob;
        }
        try {
            Files.move(tombstone, data, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (NoSuchFileException e) {
            return blobFile(digest, data, false); // restored meanwhile, by a read or a collection of the serving registry
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        report(Kind.BURIED_BLOB, tombstone, digest.toString(), "restored");
        return new BlobFile(digest, blob.size(), false);
    }

    private void emptyBlobDirectory(Path dir) {
        String repaired = null;
        if (repair && list(dir).isEmpty() && oldEnough(dir)) {
            FileTrees.delete(dir);
            repaired = "deleted";
        }
        report(Kind.STRAY_TEMP_FILE, dir, "blob directory without data", repaired);
    }

    /** Whether the blob hashes to its digest; a corrupt one is reported, and quarantined when repairing. */
    private boolean verify(BlobFile blob) {
        Path data = file(blob);
        Digest actual;
        try {
            actual = hash(data, blob.digest().algorithm());
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            report(Kind.CORRUPT_BLOB, data, "cannot be read: " + e, null);
            return true;
        }
        if (actual.equals(blob.digest())) {
            return true;
        }
        String detail = blob.size() + " bytes hash to " + actual;
        if (!repair) {
            report(Kind.CORRUPT_BLOB, data, detail, null);
            return true;
        }
        Path target = quarantine(data, blob.digest());
        report(Kind.CORRUPT_BLOB, data, detail, "moved to " + root.relativize(target));
        return false;
    }

    private Path quarantine(Path data, Digest digest) {
        try {
            Path dir = root.resolve(QUARANTINE);
            AtomicFiles.createDirectories(dir);
            Path target = dir.resolve(digest.algorithm().prefix() + "-" + digest.hex());
            for (int i = 1; Files.exists(target); i++) {
                target = dir.resolve(digest.algorithm().prefix() + "-" + digest.hex() + "." + i);
            }
            AtomicFiles.move(data, target);
            FileTrees.delete(FileTrees.parent(data));
            AtomicFiles.fsyncDirectory(FileTrees.parent(FileTrees.parent(data)));
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Digest hash(Path file, DigestAlgorithm algorithm) throws IOException {
        MessageDigest md = algorithm.newMessageDigest();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
        return Digest.of(algorithm, md.digest());
    }

    static @Nullable Digest digestNamed(DigestAlgorithm alg, String hex) {
        try {
            return new Digest(alg, hex);
        } catch (StorageException e) {
            return null;
        }
    }

    /** Temp files of {@link RegistryStorage#checkHealth} at the storage root. */
    private void checkTempFilesAt(Path dir) {
        for (Path p : list(dir)) {
            if (p.getFileName().toString().startsWith(".health") && isTempName(p.getFileName().toString())) {
                strayTemp(p);
            }
        }
    }
}
