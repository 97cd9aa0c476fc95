package io.berth.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.storage.Digest;
import io.berth.storage.RegistryStorage;
import io.berth.storage.RepositoryName;
import io.berth.storage.Upload;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FsckCommandTest {
    @TempDir
    Path work;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int berth(String... args) {
        return new BerthCommand(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
    }

    private Path config() throws Exception {
        return Files.writeString(work.resolve("config.yml"), "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: " + work.resolve("data") + "\n");
    }

    private Digest pushBlob(byte[] content) {
        RegistryStorage storage = RegistryStorage.open(work.resolve("data"));
        Digest digest = Digest.sha256(content);
        try (Upload u = storage.startUpload(RepositoryName.of("team/app"))) {
            u.write(new ByteBuffer[] {ByteBuffer.wrap(content)}, Long.MAX_VALUE);
            u.commit(digest);
        }
        return digest;
    }

    private Path data(Digest d) {
        return work.resolve("data/docker/registry/v2/blobs/sha256").resolve(d.hex().substring(0, 2)).resolve(d.hex()).resolve("data");
    }

    @Test
    void aCleanVolumeExitsZeroWithProgressOnStderr() throws Exception {
        pushBlob("hello".getBytes(StandardCharsets.UTF_8));

        assertThat(berth("fsck", config().toString())).isZero();

        assertThat(err.toString()).contains("fsck: 1/1 blobs, 5/5 bytes");
        assertThat(out.toString()).contains("1 blobs (5 bytes) in 1 repositories; 0 damaged, 0 leftovers");
    }

    @Test
    void aCorruptBlobExitsOneAndRepairQuarantinesIt() throws Exception {
        Digest d = pushBlob("hello".getBytes(StandardCharsets.UTF_8));
        Files.writeString(data(d), "jello");

        assertThat(berth("fsck", config().toString())).isEqualTo(1);
        assertThat(out.toString()).contains("DAMAGE CORRUPT_BLOB docker/registry/v2/blobs/sha256/" + d.hex().substring(0, 2));
        assertThat(data(d)).exists();

        assertThat(berth("fsck", "--repair", config().toString())).isEqualTo(1);
        assertThat(data(d)).doesNotExist();
        assertThat(out.toString()).contains("(repaired: moved to berth-quarantine/sha256-" + d.hex() + ")");

        assertThat(berth("fsck", config().toString())).isZero(); // the dangling layer link went with the repair
    }

    @Test
    void aDirectoryWithoutAVolumeIsAConfigurationError() throws Exception {
        assertThat(berth("fsck", config().toString())).isEqualTo(BerthCommand.USAGE);
        assertThat(err.toString()).contains("holds no registry volume");
    }

    @Test
    void withoutTheConfigItIsAUsageError() {
        assertThat(berth("fsck")).isEqualTo(BerthCommand.USAGE);
        assertThat(err.toString()).contains("fsck needs the CONFIG file");
    }
}
