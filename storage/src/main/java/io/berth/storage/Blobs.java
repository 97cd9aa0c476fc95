package io.berth.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/** The global content-addressed blob store and the per-repository {@code _layers} links into it. */
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
        if (Files.isRegularFile(target)) {
            return;
        }
        AtomicFiles.createDirectories(FileTrees.parent(target));
        AtomicFiles.move(verified, target);
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
        try {
            return Files.readAttributes(layout.blobData(digest), BasicFileAttributes.class).size();
        } catch (NoSuchFileException e) {
            return -1;
        } catch (IOException e) {
            throw IoFailures.of("reading blob " + digest, layout.blobData(digest), e);
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
        try {
            FileChannel ch = FileChannel.open(layout.blobData(digest), StandardOpenOption.READ);
            return new BlobContent(digest, ch, ch.size());
        } catch (NoSuchFileException e) {
            throw new StorageException(Problem.BLOB_UNKNOWN, "blob unknown to registry: " + digest);
        } catch (IOException e) {
            throw IoFailures.of("opening blob " + digest, layout.blobData(digest), e);
        }
    }

    byte[] read(Digest digest) {
        try {
            return Files.readAllBytes(layout.blobData(digest));
        } catch (NoSuchFileException e) {
            throw new StorageException(Problem.BLOB_UNKNOWN, "blob unknown to registry: " + digest);
        } catch (IOException e) {
            throw IoFailures.of("reading blob " + digest, layout.blobData(digest), e);
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
