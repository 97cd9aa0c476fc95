package io.berth.auth.trust;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import org.jspecify.annotations.Nullable;

/**
 * What tells one version of a key file from the next without reading it, as for the htpasswd file: where its links
 * lead (a Kubernetes Secret volume swaps a symlink to a new directory), its modification time, size and file key.
 */
record KeyFileStamp(Path realPath, FileTime modified, long size, @Nullable Object fileKey) {
    static KeyFileStamp of(Path file) throws IOException {
        Path real = file.toRealPath();
        BasicFileAttributes attributes = Files.readAttributes(real, BasicFileAttributes.class);
        return new KeyFileStamp(real, attributes.lastModifiedTime(), attributes.size(), attributes.fileKey());
    }
}
