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
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.regex.Pattern;
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
    private final ConcurrentHashMap<Path, State> states = new ConcurrentHashMap<>();

    Uploads(Layout layout, Blobs blobs, Clock clock) {
        this.layout = layout;
        this.blobs = blobs;
        this.clock = clock;
    }

    Blobs blobs() {
        return blobs;
    }

    Upload start(RepositoryName repository) {
        String id = UUID.randomUUID().toString();
        Path dir = layout.uploadDir(repository, id);
        try {
            Files.createDirectories(dir);
            Files.write(dir.resolve(Layout.DATA), new byte[0]);
            AtomicFiles.write(dir.resolve(Layout.STARTED_AT), clock.instant().toString().getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return open(repository, id, dir);
    }

    Upload resume(RepositoryName repository, String id) {
        if (!ID.matcher(id).matches()) {
            throw new StorageException(Problem.BLOB_UPLOAD_UNKNOWN, "unknown upload id: " + Digest.abbreviate(id));
        }
        Path dir = layout.uploadDir(repository, id);
        if (!Upload.exists(dir)) {
            throw new StorageException(Problem.BLOB_UPLOAD_UNKNOWN, "no upload " + id + " in " + repository);
        }
        return open(repository, id, dir);
    }

    private Upload open(RepositoryName repository, String id, Path dir) {
        State state = states.computeIfAbsent(dir, d -> new State());
        if (!state.permit.tryAcquire()) {
            throw new StorageException(Problem.BLOB_UPLOAD_INVALID, "upload " + id + " is in use by another request");
        }
        try {
            if (!Upload.exists(dir)) {
                throw new StorageException(Problem.BLOB_UPLOAD_UNKNOWN, "no upload " + id + " in " + repository);
            }
            return new Upload(this, repository, id, state, dir);
        } catch (IOException e) {
            state.permit.release();
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            state.permit.release();
            throw e;
        }
    }

    void forget(Path dir) {
        states.remove(dir);
    }

    /** Deletes uploads started more than {@code age} ago, in every repository; returns how many. */
    int purge(Duration age) {
        Instant cutoff = clock.instant().minus(age);
        int[] purged = {0};
        RepositoryWalker.forEachWithUploads(layout, (name, repoDir) -> {
            try (DirectoryStream<Path> ids = Files.newDirectoryStream(repoDir.resolve(Layout.UPLOADS), Files::isDirectory)) {
                for (Path dir : ids) {
                    if (isStale(dir, cutoff)) {
                        log.info("purging stale upload {}", layout.v2().relativize(dir));
                        FileTrees.delete(dir);
                        states.remove(dir);
                        purged[0]++;
                    }
                }
            } catch (IOException e) {
                log.warn("cannot purge uploads of {}: {}", name, e.toString());
            }
        });
        return purged[0];
    }

    private boolean isStale(Path dir, Instant cutoff) {
        State state = states.get(dir);
        if (state != null && state.permit.availablePermits() == 0) {
            return false;
        }
        try {
            return startedAt(dir).isBefore(cutoff);
        } catch (IOException e) {
            log.warn("cannot read the start time of upload {}: {}", dir, e.toString());
            return false;
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
