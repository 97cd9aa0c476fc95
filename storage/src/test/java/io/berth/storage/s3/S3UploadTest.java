package io.berth.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.storage.Digest;
import io.berth.storage.DigestAlgorithm;
import io.berth.storage.Problem;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import io.berth.testing.S3TestServer;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** S3Uploads on a real S3 server (versitygw): two instances on one bucket stand for two replicas. */
class S3UploadTest {
    static final int PART = (int) S3Settings.MIN_PART;

    @TempDir
    static Path work;
    static S3TestServer s3;
    static ObjectStore store;

    @BeforeAll
    static void start() {
        s3 = S3TestServer.start(work, "bucket");
        store = ObjectStore.open(S3Settings.defaults("bucket", "us-east-1").withEndpoint(s3.endpoint(), true)
                .withCredentials(s3.accessKey(), s3.secretKey()).withRootDirectory("up").withChunkSize(PART)
                .withClient(S3Settings.Client.NETTY, 2));
    }

    @AfterAll
    static void stop() {
        store.close();
        s3.close();
    }

    /** A clock the test moves by hand. */
    static final class TestClock extends Clock {
        volatile Instant now = Instant.now();

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    static S3Uploads replica(Clock clock) {
        return replica(clock, store);
    }

    static S3Uploads replica(Clock clock, ObjectStore on) {
        return new S3Uploads(on, new S3Blobs(on), clock, Duration.ofSeconds(10));
    }

    static byte[] data(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Writes {@code data[from, to)} in uneven pieces, as a request body arrives. */
    static void write(S3Upload u, byte[] data, int from, int to) {
        int[] pieces = {65536, 1, 300_000, 4093, 1 << 20};
        int at = from;
        for (int i = 0; at < to; i++) {
            int n = Math.min(pieces[i % pieces.length], to - at);
            ByteBuffer a = ByteBuffer.wrap(data, at, n / 2);
            ByteBuffer b = ByteBuffer.wrap(data, at + n / 2, n - n / 2);
            u.write(new ByteBuffer[] {a, b}, Long.MAX_VALUE);
            assertThat(a.hasRemaining() || b.hasRemaining()).as("buffers consumed").isFalse();
            at += n;
        }
    }

    static byte[] read(Digest d, long size) throws Exception {
        try (InputStream in = new S3Blobs(store).stream(d, 0, size)) {
            return in.readAllBytes();
        }
    }

    static List<String> objectsUnder(String prefix) {
        List<String> keys = new ArrayList<>();
        store.list(prefix, o -> keys.add(o.key()));
        return keys;
    }

    /** The size the upload's saved state says, whoever holds it. */
    static long savedSize(RepositoryName repo, String id) {
        return UploadState.fromJson(store.get(S3Layout.uploadState(repo, id)).bytes(), id).size();
    }

    static void assertProblem(ThrowingCallable call, Problem problem) {
        assertThatThrownBy(call).isInstanceOf(StorageException.class)
                .extracting(e -> ((StorageException) e).problem()).isEqualTo(problem);
    }

    static Digest sha512(byte[] content) {
        return new Digest(DigestAlgorithm.SHA512, HexFormat.of().formatHex(DigestAlgorithm.SHA512.newMessageDigest().digest(content)));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 4093, PART - 1, PART, 3 * PART + 12_345})
    void uploadIsStoredWholeAtItsBlobKeyAndLinked(int size) throws Exception {
        RepositoryName repo = RepositoryName.of("sizes/s" + size);
        S3Uploads uploads = replica(Clock.systemUTC());
        byte[] content = data(size, size);
        Digest d = Digest.sha256(content);
        S3Upload u = uploads.start(repo, "alice");
        write(u, content, 0, size);
        assertThat(u.size()).isEqualTo(size);
        assertThat(u.commit(d)).isEqualTo(size);
        assertThat(read(d, size)).isEqualTo(content);
        S3Blobs blobs = new S3Blobs(store);
        assertThat(blobs.isLinked(repo, d)).isTrue();
        assertThat(blobs.globalSize(d)).isEqualTo(size);
        assertThat(objectsUnder(S3Layout.uploadsRoot(repo))).as("the upload's objects are gone").isEmpty();
        assertProblem(() -> uploads.resume(repo, u.id()), Problem.BLOB_UPLOAD_UNKNOWN);
    }

    @Test
    void anotherReplicaResumesTheUploadAndTheHashWithoutReadingDataBack() throws Exception {
        RepositoryName repo = RepositoryName.of("replicas/resume");
        S3Uploads a = replica(Clock.systemUTC());
        S3Uploads b = replica(Clock.systemUTC());
        byte[] content = data(2 * PART + PART / 2 + 77, 7);
        Digest d = Digest.sha256(content);
        int[] cuts = {0, 1000, PART + 3, PART + 9, 2 * PART, 2 * PART + 5, content.length};
        S3Upload first = a.start(repo, null);
        String id = first.id();
        first.close();
        for (int i = 0; i + 1 < cuts.length; i++) {
            S3Uploads replica = i % 2 == 0 ? a : b;
            assertThat(replica.progress(repo, id)).isEqualTo(cuts[i]);
            S3Upload u = replica.resume(repo, id);
            assertThat(u.size()).isEqualTo(cuts[i]);
            write(u, content, cuts[i], cuts[i + 1]);
            u.close();
        }
        assertThat(b.progress(repo, id)).isEqualTo(content.length);
        S3Upload last = a.resume(repo, id);
        assertThat(last.commit(d)).isEqualTo(content.length);
        assertThat(read(d, content.length)).isEqualTo(content);
        assertThat(objectsUnder(S3Layout.uploadsRoot(repo))).isEmpty();
    }

    @Test
    void secondWriterIsRefusedWhileTheFirstHoldsTheUpload() {
        RepositoryName repo = RepositoryName.of("replicas/two-writers");
        S3Uploads a = replica(Clock.systemUTC());
        S3Uploads b = replica(Clock.systemUTC());
        S3Upload u = a.start(repo, null);
        assertProblem(() -> b.resume(repo, u.id()), Problem.BLOB_UPLOAD_INVALID);
        assertProblem(() -> a.resume(repo, u.id()), Problem.BLOB_UPLOAD_INVALID);
        assertProblem(() -> b.progress(repo, u.id()), Problem.BLOB_UPLOAD_INVALID);
        u.write(new ByteBuffer[] {ByteBuffer.wrap(new byte[] {1, 2, 3})}, Long.MAX_VALUE);
        u.close();
        assertThat(b.progress(repo, u.id())).isEqualTo(3);
        b.resume(repo, u.id()).cancel();
        assertProblem(() -> a.progress(repo, u.id()), Problem.BLOB_UPLOAD_UNKNOWN);
    }

    @Test
    void writerWhoseExpiredLeaseWasTakenFailsAndTheNewWriterCommits() throws Exception {
        RepositoryName repo = RepositoryName.of("replicas/lease");
        TestClock clock = new TestClock();
        S3Uploads a = replica(clock);
        S3Uploads b = replica(clock);
        byte[] content = data(PART + 10, 3);
        S3Upload stalled = a.start(repo, null);
        write(stalled, content, 0, 10);
        clock.advance(Duration.ofSeconds(11));
        S3Upload taker = b.resume(repo, stalled.id());
        assertThat(taker.size()).as("nothing was saved past the start").isZero();
        assertProblem(() -> write(stalled, content, 10, PART + 10), Problem.BLOB_UPLOAD_INVALID);
        stalled.close();
        write(taker, content, 0, content.length);
        assertThat(taker.commit(Digest.sha256(content))).isEqualTo(content.length);
        assertThat(read(Digest.sha256(content), content.length)).isEqualTo(content);
    }

    @Test
    void killedWritersUploadIsResumedFromItsLastSavedStateOnceTheLeaseExpires() throws Exception {
        RepositoryName repo = RepositoryName.of("replicas/killed");
        TestClock clock = new TestClock();
        S3Uploads a = replica(clock);
        S3Uploads b = replica(clock);
        byte[] content = data(4 * PART + 1234, 11);
        S3Upload u = a.start(repo, null);
        write(u, content, 0, 2 * PART + 100);
        clock.advance(Duration.ofSeconds(6)); // past half the lease: the next write saves what is acknowledged
        write(u, content, 2 * PART + 100, 3 * PART + 200);
        u.abandon(); // killed: no close, the lease stays
        assertProblem(() -> b.progress(repo, u.id()), Problem.BLOB_UPLOAD_INVALID);
        assertProblem(() -> b.resume(repo, u.id()), Problem.BLOB_UPLOAD_INVALID);
        clock.advance(Duration.ofSeconds(11));
        long saved = b.progress(repo, u.id());
        assertThat(saved).as("a whole number of parts").isBetween(0L, 3L * PART).matches(n -> n % PART == 0);
        S3Upload resumed = b.resume(repo, u.id());
        assertThat(resumed.size()).isEqualTo(saved);
        write(resumed, content, (int) saved, content.length);
        assertThat(resumed.commit(Digest.sha256(content))).isEqualTo(content.length);
        assertThat(read(Digest.sha256(content), content.length)).isEqualTo(content);
    }

    @Test
    void savedStateCoversAcknowledgedPartsAfterHalfTheLease() throws Exception {
        RepositoryName repo = RepositoryName.of("replicas/checkpoint");
        TestClock clock = new TestClock();
        S3Uploads a = replica(clock);
        byte[] content = data(3 * PART, 12);
        S3Upload u = a.start(repo, null);
        write(u, content, 0, 2 * PART + 1);
        // Parts 1 and 2 are in flight; once they are acknowledged, a write past half the lease saves them.
        for (int i = 0; i < 200 && savedSize(repo, u.id()) < 2L * PART; i++) {
            Thread.sleep(20);
            clock.advance(Duration.ofSeconds(6));
            write(u, content, (int) u.size(), (int) u.size() + 1);
        }
        assertThat(savedSize(repo, u.id())).isEqualTo(2L * PART);
        u.close();
        assertThat(a.progress(repo, u.id())).isEqualTo(u.size());
        a.resume(repo, u.id()).cancel();
    }

    @Test
    void digestMismatchLeavesNothingAtTheBlobKey() {
        RepositoryName repo = RepositoryName.of("digests/mismatch");
        S3Uploads uploads = replica(Clock.systemUTC());
        for (int size : new int[] {100, 2 * PART + 1}) {
            byte[] content = data(size, 5);
            Digest wrong = Digest.sha256(data(size, 6));
            S3Upload u = uploads.start(repo, null);
            write(u, content, 0, size);
            assertProblem(() -> u.commit(wrong), Problem.DIGEST_INVALID);
            assertThat(new S3Blobs(store).globalSize(wrong)).isEqualTo(-1);
            assertThat(objectsUnder(S3Layout.blobDir(wrong))).isEmpty();
            assertProblem(() -> uploads.resume(repo, u.id()), Problem.BLOB_UPLOAD_UNKNOWN);
        }
        assertThat(objectsUnder(S3Layout.uploadsRoot(repo))).isEmpty();
    }

    @Test
    void sha512UploadsAreVerifiedAtCommit() throws Exception {
        RepositoryName repo = RepositoryName.of("digests/sha512");
        S3Uploads uploads = replica(Clock.systemUTC());
        for (int size : new int[] {100, 2 * PART + 1}) {
            byte[] content = data(size, 8);
            S3Upload bad = uploads.start(repo, null);
            write(bad, content, 0, size);
            assertProblem(() -> bad.commit(sha512(data(size, 9))), Problem.DIGEST_INVALID);
            S3Upload u = uploads.start(repo, null);
            write(u, content, 0, size);
            assertThat(u.commit(sha512(content))).isEqualTo(size);
            assertThat(read(sha512(content), size)).isEqualTo(content);
            assertThat(new S3Blobs(store).isLinked(repo, sha512(content))).isTrue();
        }
    }

    @Test
    void uploadOfStoredContentLinksItInAnotherRepository() throws Exception {
        S3Uploads uploads = replica(Clock.systemUTC());
        byte[] content = data(PART + 5, 21);
        Digest d = Digest.sha256(content);
        for (String name : List.of("same/one", "same/two")) {
            S3Upload u = uploads.start(RepositoryName.of(name), null);
            write(u, content, 0, content.length);
            assertThat(u.commit(d)).isEqualTo(content.length);
            assertThat(new S3Blobs(store).isLinked(RepositoryName.of(name), d)).isTrue();
        }
        assertThat(read(d, content.length)).isEqualTo(content);
        assertThat(objectsUnder("repositories/same/")).allMatch(k -> k.contains("/_layers/"));
    }

    @Test
    void writePastTheLimitIsRefusedBeforeAnyByteIsTaken() {
        S3Upload u = replica(Clock.systemUTC()).start(RepositoryName.of("limits/size"), null);
        u.write(new ByteBuffer[] {ByteBuffer.wrap(new byte[10])}, 20);
        ByteBuffer more = ByteBuffer.wrap(new byte[11]);
        assertProblem(() -> u.write(new ByteBuffer[] {more}, 20), Problem.SIZE_INVALID);
        assertThat(more.remaining()).isEqualTo(11);
        assertThat(u.size()).isEqualTo(10);
        u.cancel();
    }

    @Test
    void openUploadsAreLimitedPerRepositoryAcrossReplicasAndPerAccount() {
        S3Uploads a = replica(Clock.systemUTC());
        S3Uploads b = replica(Clock.systemUTC());
        a.limitOpen(2);
        b.limitOpen(2);
        RepositoryName repo = RepositoryName.of("limits/open");
        S3Upload one = a.start(repo, "alice");
        S3Upload two = b.start(repo, "bob");
        assertProblem(() -> a.start(repo, "carol"), Problem.TOOMANYREQUESTS);
        two.close();
        b.resume(repo, two.id()).cancel();
        S3Upload three = a.start(repo, "alice");
        assertProblem(() -> a.start(RepositoryName.of("limits/other"), "alice"), Problem.TOOMANYREQUESTS);
        one.close();
        b.resume(repo, one.id()).cancel(); // finished on another replica: alice's slot comes back on a
        S3Upload four = a.start(RepositoryName.of("limits/other"), "alice");
        three.cancel();
        four.cancel();
    }

    @Test
    void purgeDeletesOldAndIdleUploadsButNotOneBeingWritten() {
        TestClock clock = new TestClock();
        ObjectStore own = ObjectStore.open(store.settings().withRootDirectory("purge"));
        S3Uploads uploads = replica(clock, own);
        RepositoryName repo = RepositoryName.of("purge/me");
        S3Upload old = uploads.start(repo, null);
        write(old, data(PART + 1, 1), 0, PART + 1); // a multipart upload to abort
        old.close();
        clock.advance(Duration.ofHours(2));
        S3Upload fresh = uploads.start(RepositoryName.of("purge/nested/deeper"), null);
        fresh.close();
        S3Upload held = uploads.start(RepositoryName.of("purge/held"), null);
        clock.advance(Duration.ofSeconds(1));
        assertThat(uploads.purge(Duration.ofHours(1))).isEqualTo(1);
        assertProblem(() -> uploads.progress(repo, old.id()), Problem.BLOB_UPLOAD_UNKNOWN);
        List<String> left = new ArrayList<>();
        own.list(S3Layout.uploadsRoot(repo), o -> left.add(o.key()));
        assertThat(left).isEmpty();
        assertThat(uploads.progress(RepositoryName.of("purge/nested/deeper"), fresh.id())).isZero();

        // Idle: by the objects' times in the bucket; the held upload's lease keeps it.
        clock.now = Instant.now().plus(Duration.ofMinutes(1));
        assertThat(uploads.purgeIdle(Duration.ofSeconds(30))).isEqualTo(1);
        assertProblem(() -> uploads.progress(RepositoryName.of("purge/nested/deeper"), fresh.id()), Problem.BLOB_UPLOAD_UNKNOWN);
        held.cancel();
        own.close();
    }

    @Test
    void partTheStoreRefusesFailsTheRequestAndTheUploadKeepsItsLastWholeState() {
        RepositoryName repo = RepositoryName.of("faults/part");
        S3Uploads uploads = replica(Clock.systemUTC());
        byte[] content = data(2 * PART + 10, 31);
        S3Upload u = uploads.start(repo, null);
        write(u, content, 0, PART + 1); // part 1 sent; the multipart upload's id is saved at once
        String multipart = UploadState.fromJson(store.get(S3Layout.uploadState(repo, u.id())).bytes(), u.id()).multipart();
        assertThat(multipart).isNotNull();
        store.abortMultipart(S3Layout.uploadData(repo, u.id()), multipart); // the store loses it: part 2 cannot be stored
        assertThatThrownBy(() -> {
            write(u, content, PART + 1, content.length);
            u.close();
        }).isInstanceOf(StorageException.class).extracting(e -> ((StorageException) e).problem()).isEqualTo(Problem.STORAGE_FAILED);
        u.close();
        long kept = uploads.progress(repo, u.id()); // released: no lease left behind
        assertThat(kept).isIn(0L, (long) PART);
        uploads.resume(repo, u.id()).cancel();
    }

    @Test
    void uploadsShareTheReplicasBufferBudgetAndOneThatFindsItSpentIsToldToRetry() throws Exception {
        S3Uploads uploads = new S3Uploads(store, new S3Blobs(store), Clock.systemUTC(), Duration.ofSeconds(10), 1, Duration.ofMillis(50));
        RepositoryName repo = RepositoryName.of("limits/memory");
        S3Upload holder = uploads.start(repo, null);
        holder.write(new ByteBuffer[] {ByteBuffer.wrap(new byte[] {1})}, Long.MAX_VALUE); // takes the one buffer
        S3Upload waiting = uploads.start(repo, null);
        ByteBuffer body = ByteBuffer.wrap(new byte[] {2});
        assertProblem(() -> waiting.write(new ByteBuffer[] {body}, Long.MAX_VALUE), Problem.TOOMANYREQUESTS);
        assertThat(body.remaining()).isEqualTo(1);
        waiting.close();
        holder.close(); // its tail is saved; the buffer goes back
        S3Upload retried = uploads.resume(repo, waiting.id());
        retried.write(new ByteBuffer[] {body}, Long.MAX_VALUE);
        assertThat(retried.commit(Digest.sha256(new byte[] {2}))).isEqualTo(1);
        uploads.resume(repo, holder.id()).cancel();
    }
}
