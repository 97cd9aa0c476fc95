package io.berth.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/** Crash-safe file primitives: write a temp file in the target's directory, fsync, rename. */
final class AtomicFiles {
    private AtomicFiles() {}

    /**
     * Writes {@code content} to {@code target} so that readers see the old file or the new one, never a part. When
     * the disk fails (STORAGE_FULL, STORAGE_FAILED), the temp file is deleted and the target is as it was.
     */
    static void write(Path target, byte[] content) {
        Path dir = FileTrees.parent(target);
        Path temp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try {
            createDirectories(dir);
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(content);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(false);
            }
            move(temp, target);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // a volume that cannot even delete: the purge of stale temp files is all that is left
            }
            throw IoFailures.of("writing " + dir.getFileName() + "/" + target.getFileName(), target, e);
        }
    }

    /** Writes a registry:2 link file holding {@code digest}. */
    static void writeLink(Path link, Digest digest) {
        write(link, digest.toString().getBytes(StandardCharsets.US_ASCII));
    }

    /** Reads a registry:2 link file; a missing or malformed link reads as absent. */
    static @Nullable Digest readLink(Path link) {
        try {
            byte[] raw = Files.readAllBytes(link);
            return Digest.parse(new String(raw, StandardCharsets.US_ASCII).strip());
        } catch (NoSuchFileException e) {
            return null;
        } catch (StorageException e) {
            return null;
        } catch (IOException e) {
            throw IoFailures.of("reading " + FileTrees.parent(link).getFileName() + "/" + link.getFileName(), link, e);
        }
    }

    /** Atomically renames {@code source} onto {@code target}, then makes the rename durable. */
    static void move(Path source, Path target) throws IOException {
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(source, target, StandardCopyOption.REPLACE_EXISTING);
        }
        fsyncDirectory(FileTrees.parent(target));
    }

    /**
     * Creates {@code dir} and its missing parents, each made durable in its parent, so that a crash
     * cannot keep a file that was fsynced and renamed into a directory whose own entry was lost.
     */
    static void createDirectories(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        Deque<Path> missing = new ArrayDeque<>();
        for (Path p = dir; p != null && !Files.isDirectory(p); p = p.getParent()) {
            missing.push(p);
        }
        for (Path p : missing) {
            try {
                Files.createDirectory(p);
            } catch (FileAlreadyExistsException e) {
                if (!Files.isDirectory(p)) {
                    throw e;
                }
                // Made by a concurrent writer, which may not have fsynced its parent yet: do it here too.
            }
            fsyncDirectory(FileTrees.parent(p));
        }
    }

    static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some filesystems refuse to fsync a directory; the rename itself has happened.
        }
    }

    /**
     * Deletes a link file and its own digest directory, as registry:2 does. Directories above it stay,
     * even when empty: registry:2 2.8 recognises a repository by its {@code _layers} directory.
     */
    static void deleteLink(Path link) {
        try {
            Files.deleteIfExists(link);
            Files.deleteIfExists(link.getParent());
        } catch (DirectoryNotEmptyException e) {
            // something else lives beside the link; leave the directory
        } catch (IOException e) {
            throw IoFailures.of("deleting " + FileTrees.parent(link).getFileName() + "/" + link.getFileName(), link, e);
        }
    }
}
