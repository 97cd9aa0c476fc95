package io.berth.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resumable uploads under {@code repositories/<name>/_uploads/<id>/}. The running hash of each upload
 * is kept in memory between requests; after a restart it is rebuilt from the file on disk.
 */
final class Uploads {
    private static final Logger log = LoggerFactory.getLogger(Uploads.class);
    private static final Pattern ID = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.=-]{0,127}");

    private final Layout layout;
    private final Blobs blobs;
    private final Clock clock;
    private final UploadIo io;
    private final ConcurrentHashMap<Path, State> states = new ConcurrentHashMap<>();

    /** Who started an upload this process counts against {@link #maxOpen}; the account is null for one found on disk. */
    private record Owner(RepositoryName repository, @Nullable String account) {}

    private volatile int maxOpen = Integer.MAX_VALUE;
    /** Guards the three maps below. Held only for bookkeeping, never across I/O other than one directory listing. */
    private final Object admission = new Object();
    private final Map<Path, Owner> owners = new HashMap<>();
    private final Map<RepositoryName, Integer> openPerRepository = new HashMap<>();
    private final Map<String, Integer> openPerAccount = new HashMap<>();

    Uploads(Layout layout, Blobs blobs, Clock clock, UploadIo io) {
        this.layout = layout;
        this.blobs = blobs;
        this.clock = clock;
        this.io = io;
    }

    Blobs blobs() {
        return blobs;
    }

    UploadIo io() {
        return io;
    }

    /** At most {@code max} unfinished uploads per repository, and per account (default: no limit). */
    void limitOpen(int max) {
        if (max < 1) {
            throw new IllegalArgumentException("the open upload limit must be positive, got " + max);
        }
        this.maxOpen = max;
    }

    Upload start(RepositoryName repository, @Nullable String account) {
        String id = UUID.randomUUID().toString();
        Path dir = layout.uploadDir(repository, id);
        admit(dir, new Owner(repository, account));
        try {
            Files.createDirectories(dir);
            Files.write(dir.resolve(Layout.DATA), new byte[0]);
            AtomicFiles.write(dir.resolve(Layout.STARTED_AT), clock.instant().toString().getBytes(StandardCharsets.US_ASCII));
            return open(repository, id, dir);
        } catch (IOException e) {
            FileTrees.delete(dir);
            forget(dir);
            throw IoFailures.of("starting an upload in " + repository, dir, e);
        } catch (RuntimeException e) {
            FileTrees.delete(dir);
            forget(dir);
            throw e;
        }
    }

    /**
     * Counts a new upload against its repository's and its account's limits, or refuses it. A repository's count
     * starts from the uploads on disk the first time this process sees it, so uploads left from before a restart count.
     */
    private void admit(Path dir, Owner owner) {
        synchronized (admission) {
            int inRepository = openPerRepository.computeIfAbsent(owner.repository(), this::seedFromDisk);
            int ofAccount = owner.account() == null ? 0 : openPerAccount.getOrDefault(owner.account(), 0);
            if (inRepository >= maxOpen) {
                if (inRepository == 0) {
                    openPerRepository.remove(owner.repository());
                }
                throw new StorageException(Problem.TOOMANYREQUESTS, owner.repository() + " has " + inRepository
                        + " unfinished uploads, the most allowed (berth.uploads.maxOpen); finish or cancel some first");
            }
            if (ofAccount >= maxOpen) {
                throw new StorageException(Problem.TOOMANYREQUESTS, "this account has " + ofAccount
                        + " unfinished uploads, the most allowed (berth.uploads.maxOpen); finish or cancel some first");
            }
            owners.put(dir, owner);
            openPerRepository.merge(owner.repository(), 1, Integer::sum);
            if (owner.account() != null) {
                openPerAccount.merge(owner.account(), 1, Integer::sum);
            }
        }
    }

    /** The uploads of {@code repository} already on disk, each recorded with no account. Called under {@link #admission}. */
    private int seedFromDisk(RepositoryName repository) {
        int n = 0;
        try (DirectoryStream<Path> ids = Files.newDirectoryStream(layout.uploadsRoot(repository), Files::isDirectory)) {
            for (Path dir : ids) {
                if (owners.putIfAbsent(dir, new Owner(repository, null)) == null) {
                    n++;
                }
            }
        } catch (NoSuchFileException e) {
            return 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return n;
    }

    Upload resume(RepositoryName repository, String id) {
        return open(repository, id, existing(repository, id));
    }

    /**
     * How many bytes an upload holds, read without taking hold of it: a status request never stands in the way of
     * the request that writes next. BLOB_UPLOAD_INVALID while another request writes to it, as {@link #resume} says.
     */
    long progress(RepositoryName repository, String id) {
        Path dir = existing(repository, id);
        State state = states.get(dir);
        requireIdle(state, id);
        long size;
        try {
            // An idle upload's file is closed and holds exactly its bytes; the running hash may not be loaded yet.
            size = Files.size(dir.resolve(Layout.DATA));
        } catch (NoSuchFileException e) {
            throw unknown(repository, id);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        requireIdle(states.get(dir), id); // a writer that took hold meanwhile may have grown the file partway
        return size;
    }

    private static void requireIdle(@Nullable State state, String id) {
        if (state != null && state.permit.availablePermits() == 0) {
            throw inUse(id);
        }
    }

    private Path existing(RepositoryName repository, String id) {
        if (!ID.matcher(id).matches()) {
            throw new StorageException(Problem.BLOB_UPLOAD_UNKNOWN, "unknown upload id: " + Digest.abbreviate(id));
        }
        Path dir = layout.uploadDir(repository, id);
        if (!FileUpload.exists(dir)) {
            throw unknown(repository, id);
        }
        return dir;
    }

    private static StorageException unknown(RepositoryName repository, String id) {
        return new StorageException(Problem.BLOB_UPLOAD_UNKNOWN, "no upload " + id + " in " + repository);
    }

    private static StorageException inUse(String id) {
        return new StorageException(Problem.BLOB_UPLOAD_INVALID, "upload " + id + " is in use by another request");
    }

    private Upload open(RepositoryName repository, String id, Path dir) {
        State state = states.computeIfAbsent(dir, d -> new State());
        if (!state.permit.tryAcquire()) {
            throw inUse(id);
        }
        try {
            if (!FileUpload.exists(dir)) {
                throw unknown(repository, id);
            }
            return new FileUpload(this, repository, id, state, dir);
        } catch (IOException e) {
            state.permit.release();
            throw IoFailures.of("opening upload " + id, dir, e);
        } catch (RuntimeException e) {
            state.permit.release();
            throw e;
        }
    }

    void forget(Path dir) {
        states.remove(dir);
        synchronized (admission) {
            Owner owner = owners.remove(dir);
            if (owner != null) {
                openPerRepository.computeIfPresent(owner.repository(), (k, n) -> n <= 1 ? null : n - 1);
                if (owner.account() != null) {
                    openPerAccount.computeIfPresent(owner.account(), (k, n) -> n <= 1 ? null : n - 1);
                }
            }
        }
    }

    /** Deletes uploads started more than {@code age} ago, in every repository; returns how many. */
    int purge(Duration age) {
        Instant cutoff = clock.instant().minus(age);
        return purgeWhere("stale", dir -> startedAt(dir).isBefore(cutoff));
    }

    /**
     * Deletes uploads that nothing has written to for {@code idle} ({@code berth.uploads.idleTimeout}), so abandoned
     * uploads give their slots back long before the purge age; returns how many.
     */
    int purgeIdle(Duration idle) {
        Instant cutoff = clock.instant().minus(idle);
        return purgeWhere("idle", dir -> lastActivity(dir).isBefore(cutoff));
    }

    private interface UploadTest {
        boolean test(Path dir) throws IOException;
    }

    private int purgeWhere(String why, UploadTest expired) {
        int[] purged = {0};
        RepositoryWalker.forEachWithUploads(layout, (name, repoDir) -> {
            try (DirectoryStream<Path> ids = Files.newDirectoryStream(repoDir.resolve(Layout.UPLOADS), Files::isDirectory)) {
                for (Path dir : ids) {
                    if (expired(dir, expired) && tryPurge(dir, why)) {
                        purged[0]++;
                    }
                }
            } catch (IOException e) {
                log.warn("cannot purge uploads of {}: {}", name, e.toString());
            }
        });
        return purged[0];
    }

    private static boolean expired(Path dir, UploadTest expired) {
        try {
            return expired.test(dir);
        } catch (IOException e) {
            log.warn("cannot read the times of upload {}: {}", dir, e.toString());
            return false;
        }
    }

    /** Deletes the upload unless a request holds it; holding its permit meanwhile, so none can take it up. */
    private boolean tryPurge(Path dir, String why) {
        State state = states.computeIfAbsent(dir, d -> new State());
        if (!state.permit.tryAcquire()) {
            return false;
        }
        log.info("purging {} upload {}", why, layout.v2().relativize(dir));
        FileTrees.delete(dir);
        forget(dir);
        return true;
    }

    /** When the upload was started or last written to. */
    private static Instant lastActivity(Path dir) throws IOException {
        Instant started = startedAt(dir);
        try {
            Instant written = Files.getLastModifiedTime(dir.resolve(Layout.DATA)).toInstant();
            return written.isAfter(started) ? written : started;
        } catch (NoSuchFileException e) {
            return started;
        }
    }

    private static Instant startedAt(Path dir) throws IOException {
        try {
            return Instant.parse(Files.readString(dir.resolve(Layout.STARTED_AT), StandardCharsets.US_ASCII).strip());
        } catch (NoSuchFileException | DateTimeParseException e) {
            return Files.getLastModifiedTime(dir).toInstant();
        }
    }

    static Digest hash(Path file, DigestAlgorithm algorithm) throws IOException {
        MessageDigest md = algorithm.newMessageDigest();
        hashInto(file, Long.MAX_VALUE, md);
        return Digest.of(algorithm, md.digest());
    }

    private static long hashInto(Path file, long limit, MessageDigest md) throws IOException {
        byte[] buf = new byte[1 << 16];
        long total = 0;
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while (total < limit && (n = in.read(buf, 0, (int) Math.min(buf.length, limit - total))) > 0) {
                md.update(buf, 0, n);
                total += n;
            }
        }
        return total;
    }

    /** The resumable part of an upload: its running SHA-256 and how many bytes it covers. */
    static final class State {
        /** Held by the one request that is writing to the upload. */
        final Semaphore permit = new Semaphore(1);
        MessageDigest sha256 = DigestAlgorithm.SHA256.newMessageDigest();
        long hashedBytes = 0;

        void rehash(Path data, long size) throws IOException {
            sha256 = DigestAlgorithm.SHA256.newMessageDigest();
            hashedBytes = hashInto(data, size, sha256);
        }
    }
}
