package io.berth.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The disk's own failures (no space, I/O errors, a read-only remount) as {@link StorageException}s that say what
 * was being done and why it failed, so the client gets a clear answer instead of an internal error.
 */
final class IoFailures {
    private static final Logger log = LoggerFactory.getLogger(IoFailures.class);

    private IoFailures() {}

    /**
     * {@code e}, met while {@code doing} something under {@code where}, as STORAGE_FULL when the volume is out of
     * space or quota, else STORAGE_FAILED. Java gives no errno: the volume is full when the error says so
     * ({@code strerror} of ENOSPC or EDQUOT), or when the volume has no usable byte left.
     */
    static StorageException of(String doing, Path where, IOException e) {
        StorageException failure;
        if (full(e) || noUsableSpace(where)) {
            failure = new StorageException(Problem.STORAGE_FULL, "the registry's volume is full (" + reason(e) + ") while "
                    + doing + "; retry once space is freed", e);
        } else {
            failure = new StorageException(Problem.STORAGE_FAILED, "storage I/O error while " + doing + ": " + reason(e), e);
        }
        // The client gets the message; the operator gets it with the path, which the client must not see.
        log.warn("{} ({})", failure.getMessage(), e.toString());
        return failure;
    }

    static StorageException of(String doing, Path where, UncheckedIOException e) {
        return of(doing, where, java.util.Objects.requireNonNull(e.getCause()));
    }

    static StorageException of(String doing, Path where, java.nio.file.DirectoryIteratorException e) {
        return of(doing, where, java.util.Objects.requireNonNull(e.getCause()));
    }

    private static boolean full(IOException e) {
        String reason = reason(e).toLowerCase(Locale.ROOT);
        return reason.contains("no space left on device") || reason.contains("disk quota exceeded");
    }

    /** The OS's words for the failure, without the file names the JDK puts around them. */
    private static String reason(IOException e) {
        String reason = e instanceof FileSystemException f ? f.getReason() : e.getMessage();
        return reason == null ? e.getClass().getSimpleName() : reason;
    }

    private static boolean noUsableSpace(Path where) {
        for (Path p = where; p != null; p = p.getParent()) {
            if (Files.exists(p)) {
                try {
                    return Files.getFileStore(p).getUsableSpace() == 0;
                } catch (IOException e) {
                    return false;
                }
            }
        }
        return false;
    }
}
