package io.berth.storage;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A fresh storage in a temporary root for every test, and the repository most tests use. */
abstract class StorageTestBase {
    static final RepositoryName REPO = RepositoryName.of("team/app");

    @TempDir
    Path root;

    RegistryStorage storage;

    @BeforeEach
    void openStorage() {
        storage = RegistryStorage.open(root);
    }
}
