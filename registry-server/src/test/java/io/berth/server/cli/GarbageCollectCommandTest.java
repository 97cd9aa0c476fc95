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

/** {@code berth garbage-collect}: the grace period, from berth.gc.gracePeriod or --grace-period. */
class GarbageCollectCommandTest {
    @TempDir
    Path dir;

    @Test
    void aFreshUploadIsKeptByTheConfiguredGracePeriodAndCollectedWithNone() throws Exception {
        Path storageRoot = dir.resolve("data");
        RegistryStorage storage = RegistryStorage.open(storageRoot);
        byte[] content = "uploaded, its manifest still to come".getBytes(StandardCharsets.UTF_8);
        Digest d = Digest.sha256(content);
        try (Upload upload = storage.startUpload(RepositoryName.of("team/app"))) {
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content)}, Long.MAX_VALUE);
            upload.commit(d);
        }
        Path config = Files.writeString(dir.resolve("config.yml"), """
                version: 0.1
                storage:
                  filesystem:
                    rootdirectory: %s
                """.formatted(storageRoot));

        String kept = run("garbage-collect", config.toString());
        String collected = run("garbage-collect", "--grace-period", "0s", config.toString());

        assertThat(kept).contains("0 manifests and 0 blobs eligible");
        assertThat(collected).contains("0 manifests and 1 blobs eligible");
        assertThat(RegistryStorage.open(storageRoot).mountBlob(RepositoryName.of("other"), null, d)).isEqualTo(-1);
    }

    private static String run(String... args) {
        StringWriter out = new StringWriter();
        int exit = new BerthCommand(new PrintWriter(out, true), new PrintWriter(out, true)).execute(args);
        assertThat(exit).as(out.toString()).isZero();
        return out.toString();
    }
}
