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
            int port = Registry2.freePort();
            Path config = work.resolve("registry2-s3.yml");
            Files.writeString(config, """
                    version: 0.1
                    log:
                      level: warn
                    storage:
                      s3:
                        region: us-east-1
                        regionendpoint: %s
                        forcepathstyle: true
                        secure: false
                        v4auth: true
                        bucket: %s
                        rootdirectory: /%s
                        accesskey: %s
                        secretkey: %s
                      delete:
                        enabled: true
                      redirect:
                        disable: true
                    http:
                      addr: 127.0.0.1:%d
                    """.formatted(s3.endpoint(), BUCKET, ROOT, s3.accessKey(), s3.secretKey(), port));
            try (Registry2 r2 = Registry2.serveConfig(config, "127.0.0.1:" + port, "AWS_CA_BUNDLE")) {
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
