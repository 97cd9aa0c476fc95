package io.berth.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;

/**
 * The global content-addressed blob store and the per-repository {@code _layers} links into it.
 *
 * <p>An online garbage collection first renames each blob it means to delete to a tombstone beside it
 * ({@link Layout#TOMBSTONE}), then deletes only tombstones. Whoever needs a blob whose data is missing (a read, a
 * manifest push's check, an upload of the same content) renames the tombstone back first ({@link #rescue}). A rename
 * either wins or finds nothing, so a blob that a request saw present cannot be deleted under it, whichever process
 * collects.
 */
final class Blobs {
    private final Layout layout;

    Blobs(Layout layout) {
        this.layout = layout;
    }

    /**
     * Moves a verified file into the store under {@code digest}. If the blob is already there the
     * stored copy is kept and {@code verified} is left for the caller to delete.
     */
    void adopt(Path verified, Digest digest) throws IOException {
        Path target = layout.blobData(digest);
        for (int attempt = 0; ; attempt++) {
            if (Files.isRegularFile(target) || rescue(digest)) {
                touch(digest);
                return;
            }
            AtomicFiles.createDirectories(FileTrees.parent(target));
            try {
                AtomicFiles.move(verified, target);
                return;
            } catch (NoSuchFileException e) {
                // A collection removed the empty blob directory between its creation and the move: make it again.
                if (attempt >= 3 || !Files.exists(verified)) {
                    throw e;
                }
            }
        }
    }

    /**
     * Marks the blob as just used (an upload of content already stored, or a mount), so that a collection's grace
     * period ({@code gracePeriod}) keeps it until the manifest that needs it is pushed. Only the data file's time changes.
     */
    void touch(Digest digest) {
        try {
            Files.setLastModifiedTime(layout.blobData(digest), FileTime.fromMillis(System.currentTimeMillis()));
        } catch (NoSuchFileException e) {
            // collected meanwhile: whoever needs it finds it missing
        } catch (IOException e) {
            throw IoFailures.of("touching blob " + digest, layout.blobData(digest), e);
        }
    }

    /** Renames the blob's tombstone back to its data file; false when there is none (or it is already back). */
    boolean rescue(Digest digest) {
        Path data = layout.blobData(digest);
        try {
            Files.move(data.resolveSibling(Layout.TOMBSTONE), data, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw IoFailures.of("restoring blob " + digest, data, e);
        }
    }

    /** Renames the blob's data file to its tombstone, for a collection; false when there is no data file. */
    boolean bury(Digest digest) {
        Path data = layout.blobData(digest);
        try {
            Files.move(data, data.resolveSibling(Layout.TOMBSTONE), StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw IoFailures.of("burying blob " + digest, data, e);
        }
    }

    /**
     * Deletes the blob's tombstone, and its directory when nothing else is in it; returns the bytes freed, or -1 when
     * the tombstone was gone (rescued by a request).
     */
    long deleteBuried(Digest digest) {
        Path tombstone = layout.blobData(digest).resolveSibling(Layout.TOMBSTONE);
        try {
            long size = Files.size(tombstone);
            Files.delete(tombstone);
            try {
                Files.deleteIfExists(FileTrees.parent(tombstone));
            } catch (java.nio.file.DirectoryNotEmptyException e) {
                // uploaded again meanwhile
            }
            return size;
        } catch (NoSuchFileException e) {
            return -1;
        } catch (IOException e) {
            throw IoFailures.of("deleting blob " + digest, tombstone, e);
        }
    }

    Path dataPath(Digest digest) {
        return layout.blobData(digest);
    }

    void link(RepositoryName repository, Digest digest) {
        Path link = layout.layerLink(repository, digest);
        if (!digest.equals(AtomicFiles.readLink(link))) {
            AtomicFiles.writeLink(link, digest);
        }
    }

    boolean isLinked(RepositoryName repository, Digest digest) {
        return digest.equals(AtomicFiles.readLink(layout.layerLink(repository, digest)));
    }

    /** The size of a blob stored anywhere, or -1 when the store does not hold it. */
    long globalSize(Digest digest) {
        for (int attempt = 0; ; attempt++) {
            try {
                return Files.readAttributes(layout.blobData(digest), BasicFileAttributes.class).size();
            } catch (NoSuchFileException e) {
                if (attempt > 0 || !rescue(digest)) {
                    return -1;
                }
            } catch (IOException e) {
                throw IoFailures.of("reading blob " + digest, layout.blobData(digest), e);
            }
        }
    }

    /** The size of a blob linked into {@code repository}; BLOB_UNKNOWN otherwise. */
    long size(RepositoryName repository, Digest digest) {
        long size = isLinked(repository, digest) ? globalSize(digest) : -1;
        if (size < 0) {
            throw new StorageException(Problem.BLOB_UNKNOWN, "blob unknown to registry: " + digest);
        }
        return size;
    }

    BlobContent open(RepositoryName repository, Digest digest) {
        if (!isLinked(repository, digest)) {
            throw new StorageException(Problem.BLOB_UNKNOWN, "blob unknown to registry: " + digest);
        }
        for (int attempt = 0; ; attempt++) {
            try {
                FileChannel ch = FileChannel.open(layout.blobData(digest), StandardOpenOption.READ);
                return new BlobContent.File(digest, ch, ch.size());
            } catch (NoSuchFileException e) {
                if (attempt > 0 || !rescue(digest)) {
                    throw new StorageException(Problem.BLOB_UNKNOWN, "blob unknown to registry: " + digest);
                }
            } catch (IOException e) {
                throw IoFailures.of("opening blob " + digest, layout.blobData(digest), e);
            }
        }
    }

    byte[] read(Digest digest) {
        for (int attempt = 0; ; attempt++) {
            try {
                return Files.readAllBytes(layout.blobData(digest));
            } catch (NoSuchFileException e) {
                if (attempt > 0 || !rescue(digest)) {
                    throw new StorageException(Problem.BLOB_UNKNOWN, "blob unknown to registry: " + digest);
                }
            } catch (IOException e) {
                throw IoFailures.of("reading blob " + digest, layout.blobData(digest), e);
            }
        }
    }

    /** Unlinks the blob from {@code repository}, as registry:2 does; the data goes at garbage collection. */
    void unlink(RepositoryName repository, Digest digest) {
        if (!isLinked(repository, digest)) {
            throw new StorageException(Problem.BLOB_UNKNOWN, "blob unknown to registry: " + digest);
        }
        AtomicFiles.deleteLink(layout.layerLink(repository, digest));
    }

    /** Writes small verified content (a manifest) into the store through a temp file. */
    void put(Digest digest, byte[] content, Path tempDir) {
        if (globalSize(digest) == content.length) {
            return;
        }
        Path temp = tempDir.resolve(Layout.DATA);
        try {
            AtomicFiles.write(temp, content);
            adopt(temp, digest);
        } catch (IOException e) {
            throw IoFailures.of("storing " + digest, tempDir, e);
        } finally {
            FileTrees.delete(tempDir);
        }
    }
}
