package io.berth.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void createsEveryMissingParentAndAcceptsExistingOnes() throws IOException {
        Path deep = dir.resolve("blobs/sha256/ab/abcdef");
        Files.createDirectories(dir.resolve("blobs"));

        AtomicFiles.createDirectories(deep);
        AtomicFiles.createDirectories(deep);

        assertThat(deep).isDirectory();
    }

    @Test
    void aFileInTheWayIsAnError() throws IOException {
        Files.writeString(dir.resolve("blobs"), "not a directory");

        assertThatThrownBy(() -> AtomicFiles.createDirectories(dir.resolve("blobs/sha256")))
                .isInstanceOf(IOException.class);
        assertThatThrownBy(() -> AtomicFiles.createDirectories(dir.resolve("blobs")))
                .isInstanceOf(FileAlreadyExistsException.class);
    }

    @Test
    void writeCreatesTheTargetsDirectories() {
        Path link = dir.resolve("repositories/team/app/_layers/sha256/abc/link");

        AtomicFiles.write(link, new byte[] {'x'});

        assertThat(link).hasContent("x");
    }
}
