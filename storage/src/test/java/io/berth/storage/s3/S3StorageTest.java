package io.berth.storage.s3;

import static io.berth.storage.s3.S3Fixtures.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.storage.BlobContent;
import io.berth.storage.Digest;
import io.berth.storage.Problem;
import io.berth.storage.RegistryStorage;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import io.berth.storage.Upload;
import io.berth.testing.S3TestServer;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** S3Storage as a RegistryStorage: uploads and blobs wired through, health, and what an object store reports. */
class S3StorageTest {
    @TempDir
    static Path work;
    static S3TestServer s3;
    static final RepositoryName REPO = RepositoryName.of("team/app");

    @BeforeAll
    static void start() {
        s3 = S3TestServer.start(work, "bucket");
    }

    @AfterAll
    static void stop() {
        s3.close();
    }

    @Test
    void anUploadStartedOnOneReplicaIsFinishedOnTheOtherAndReadBackOnTheFirst() throws Exception {
        String root = S3Fixtures.freshRoot();
        try (RegistryStorage a = S3Storage.open(S3Fixtures.settings(s3, root).withRedirect(false));
                RegistryStorage b = S3Storage.open(S3Fixtures.settings(s3, root).withRedirect(false))) {
            byte[] first = utf8("the first half, ");
            byte[] second = utf8("the second half");
            Digest digest = Digest.sha256(utf8("the first half, the second half"));
            String id;
            try (Upload upload = a.startUpload(REPO, "alice")) {
                id = upload.id();
                upload.write(new ByteBuffer[] {ByteBuffer.wrap(first)}, Long.MAX_VALUE);
            }
            assertThat(b.uploadProgress(REPO, id)).isEqualTo(first.length);
            try (Upload upload = b.resumeUpload(REPO, id)) {
                upload.write(new ByteBuffer[] {ByteBuffer.wrap(second)}, Long.MAX_VALUE);
                upload.commit(digest);
            }
            assertThat(a.blobSize(REPO, digest)).isEqualTo(first.length + second.length);
            try (BlobContent content = a.openBlob(REPO, digest); InputStream in = content.stream()) {
                assertThat(in.readAllBytes()).isEqualTo(utf8("the first half, the second half"));
            }
            assertThat(a.mountBlob(RepositoryName.of("other"), REPO, digest)).isEqualTo(first.length + second.length);
            assertThat(b.hasBlob(digest)).isTrue();
        }
    }

    @Test
    void healthIsOneAuthenticatedCallThatFailsWithTheStoresError() throws Exception {
        try (RegistryStorage storage = S3Storage.open(S3Fixtures.settings(s3, S3Fixtures.freshRoot()))) {
            storage.checkHealth();
            assertThat(storage.usableBytes()).isEqualTo(Long.MAX_VALUE);
            assertThat(storage.describe()).contains("bucket");
        }
        S3Settings wrongKey = S3Fixtures.settings(s3, "x").withCredentials(s3.accessKey(), "not-the-secret");
        try (RegistryStorage storage = S3Storage.open(wrongKey)) {
            assertThatThrownBy(storage::checkHealth).isInstanceOf(StorageException.class)
                    .hasMessageContaining("credentials")
                    .extracting(e -> ((StorageException) e).problem()).isEqualTo(Problem.STORAGE_FAILED);
        }
        S3Settings noBucket = S3Settings.defaults("no-such-bucket", "us-east-1").withEndpoint(s3.endpoint(), true)
                .withCredentials(s3.accessKey(), s3.secretKey());
        try (RegistryStorage storage = S3Storage.open(noBucket)) {
            assertThatThrownBy(storage::checkHealth).isInstanceOf(StorageException.class).hasMessageContaining("NoSuchBucket");
        }
    }
}
