package io.berth.conformance;

import static io.berth.conformance.RoundTripContent.V2;
import static io.berth.conformance.RoundTripContent.blobPath;
import static io.berth.conformance.RoundTripContent.craneDigest;
import static io.berth.conformance.RoundTripContent.pushImage;
import static io.berth.conformance.RoundTripContent.storedBlobs;
import static io.berth.conformance.RoundTripContent.tree;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.S3TestServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The S3 peer works: registry:2's own s3-aws driver stores an image in versitygw and serves it back, and the objects
 * land under registry:2's key layout. The groundwork for the registry:2 round trip of Berth's storage.s3 (issue 10).
 */
class S3PeerIT {
    private static final String BUCKET = "registry";
    private static final String ROOT = "r2root";

    @TempDir
    Path work;

    @Test
    void registry2S3DriverPushesAndPullsThroughVersitygw() throws IOException {
        try (S3TestServer s3 = S3TestServer.start(work, BUCKET)) {
            try (Registry2 r2 = Registry2.onS3(s3, BUCKET, ROOT, 5L << 20, work)) {
                Path layer = TestImages.randomLayer(work, "layer", 300_000, 42);
                String ref = r2.hostAndPort() + "/s3peer/app:v1";
                String pushed = pushImage(ref, layer);

                assertThat(craneDigest("digest", "--full-ref", ref)).isEqualTo(pushed);
                RoundTripContent.crane("pull", "--format", "oci", ref, work.resolve("pulled").toString());
                assertThat(Files.readString(work.resolve("pulled").resolve("index.json"))).contains(pushed);

                Path volume = s3.dir().resolve(BUCKET).resolve(ROOT);
                assertThat(tree(volume)).containsKey(blobPath(pushed))
                        .containsEntry(V2 + "repositories/s3peer/app/_manifests/tags/v1/current/link", pushed)
                        .containsEntry(V2 + "repositories/s3peer/app/_manifests/revisions/sha256/"
                                + pushed.substring("sha256:".length()) + "/link", pushed);
                assertThat(storedBlobs(volume)).hasSizeGreaterThanOrEqualTo(3);
            }
        }
    }
}
