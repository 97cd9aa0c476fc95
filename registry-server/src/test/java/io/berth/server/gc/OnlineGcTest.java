package io.berth.server.gc;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.server.config.RegistryConfig;
import io.berth.storage.Digest;
import io.berth.storage.GarbageCollector;
import io.berth.storage.RegistryStorage;
import io.berth.storage.RepositoryName;
import io.berth.storage.Upload;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnlineGcTest {
    private static final RepositoryName REPO = RepositoryName.of("team/app");

    @TempDir
    Path root;

    @Test
    void aCollectionDeletesAnUnreferencedBlobOnItsOwnThreadAndCountsIt() throws Exception {
        RegistryStorage storage = RegistryStorage.open(root);
        byte[] orphan = "an orphan layer".getBytes(StandardCharsets.UTF_8);
        Digest d = push(storage, orphan);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();

        try (OnlineGc gc = OnlineGc.start(new RegistryConfig.Gc(false, Duration.ofHours(24), Duration.ZERO), storage, meters, Clock.systemUTC())) {
            GarbageCollector.Result result = gc.collectNow().get(1, TimeUnit.MINUTES);

            assertThat(result.blobsDeleted()).isEqualTo(1);
        }

        assertThat(storage.mountBlob(RepositoryName.of("other"), null, d)).as("the blob is gone from the store").isEqualTo(-1);
        assertThat(meters.counter("berth.gc.runs", "outcome", "ok").count()).isEqualTo(1);
        assertThat(meters.counter("berth.gc.blobs.deleted").count()).isEqualTo(1);
        assertThat(meters.counter("berth.gc.bytes.freed").count()).isEqualTo(orphan.length);
        assertThat(meters.timer("berth.gc.duration").count()).isEqualTo(1);
    }

    @Test
    void theGracePeriodKeepsAFreshUpload() throws Exception {
        RegistryStorage storage = RegistryStorage.open(root);
        Digest d = push(storage, "just uploaded, manifest to come".getBytes(StandardCharsets.UTF_8));

        try (OnlineGc gc = OnlineGc.start(new RegistryConfig.Gc(true, Duration.ofHours(24), Duration.ofHours(1)), storage,
                new SimpleMeterRegistry(), Clock.systemUTC())) {
            assertThat(gc.collectNow().get(1, TimeUnit.MINUTES).blobsDeleted()).isZero();
        }

        assertThat(storage.blobSize(REPO, d)).isPositive();
    }

    private static Digest push(RegistryStorage storage, byte[] content) throws Exception {
        Digest d = Digest.sha256(content);
        try (Upload upload = storage.startUpload(REPO)) {
            upload.write(new ByteBuffer[] {ByteBuffer.wrap(content)}, Long.MAX_VALUE);
            upload.commit(d);
        }
        return d;
    }
}
