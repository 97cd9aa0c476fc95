package io.berth.storage.s3;

import io.berth.storage.Digest;
import io.berth.storage.RepositoryName;
import io.berth.testing.S3TestServer;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.SplittableRandom;
import org.bouncycastle.crypto.digests.SHA256Digest;

/**
 * Not a test: the rate of one upload pushed through {@link S3Upload} to versitygw on loopback, with the SDK's netty
 * client and with CRT, and the two SHA-256 implementations' rates beside it. Run by {@code bench/tools/s3-client-rate.sh}
 * (args: MiB to push, rounds, chunk MiB, partConcurrency). Prints one JSON line per run.
 */
public final class S3ClientRate {
    private S3ClientRate() {}

    public static void main(String[] args) throws Exception {
        long size = (args.length > 0 ? Long.parseLong(args[0]) : 512) << 20;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        long chunk = (args.length > 2 ? Long.parseLong(args[2]) : 10) << 20;
        int concurrency = args.length > 3 ? Integer.parseInt(args[3]) : 4;
        byte[] block = new byte[1 << 20];
        new SplittableRandom(1).nextBytes(block);
        System.out.printf("{\"sha256_jdk_mib_s\":%.0f,\"sha256_bouncycastle_mib_s\":%.0f}%n", jdkRate(block), bcRate(block));
        Path work = Files.createTempDirectory("s3-client-rate");
        try (S3TestServer s3 = S3TestServer.start(work, "bucket")) {
            for (int round = 1; round <= rounds; round++) {
                for (S3Settings.Client client : S3Settings.Client.values()) {
                    run(s3, client, round, size, chunk, concurrency, block);
                }
            }
        }
    }

    private static void run(S3TestServer s3, S3Settings.Client client, int round, long size, long chunk, int concurrency,
            byte[] block) {
        S3Settings settings = S3Settings.defaults("bucket", "us-east-1").withEndpoint(s3.endpoint(), true)
                .withCredentials(s3.accessKey(), s3.secretKey()).withRootDirectory("rate-" + client + "-" + round)
                .withChunkSize(chunk).withClient(client, concurrency);
        // Each run's content differs (its first byte), so no run finds its blob already stored.
        byte[] first = block.clone();
        first[0] = (byte) (round * 2 + client.ordinal());
        MessageDigest md = io.berth.storage.DigestAlgorithm.SHA256.newMessageDigest();
        for (long done = 0; done < size; done += block.length) {
            md.update(done == 0 ? first : block, 0, (int) Math.min(block.length, size - done));
        }
        Digest digest = new Digest(io.berth.storage.DigestAlgorithm.SHA256, java.util.HexFormat.of().formatHex(md.digest()));
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        try (ObjectStore store = ObjectStore.open(settings)) {
            S3Uploads uploads = new S3Uploads(store, new S3Blobs(store), Clock.systemUTC());
            long cpu0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            S3Upload upload = uploads.start(RepositoryName.of("rate"), null);
            for (long done = 0; done < size; ) {
                byte[] src = done == 0 ? first : block;
                int n = (int) Math.min(block.length, size - done);
                // As a request body arrives: 64 KiB pieces.
                for (int at = 0; at < n; at += 64 << 10) {
                    upload.write(new ByteBuffer[] {ByteBuffer.wrap(src, at, Math.min(64 << 10, n - at))}, Long.MAX_VALUE);
                }
                done += n;
            }
            long t1 = System.nanoTime();
            upload.commit(digest);
            long t2 = System.nanoTime();
            double mib = size / (double) (1 << 20);
            System.out.printf("{\"client\":\"%s\",\"round\":%d,\"mib\":%.0f,\"chunk_mib\":%d,\"part_concurrency\":%d,"
                            + "\"write_mib_s\":%.0f,\"commit_s\":%.2f,\"total_mib_s\":%.0f,\"jvm_cpu_s\":%.2f}%n",
                    client, round, mib, chunk >> 20, concurrency, mib / ((t1 - t0) / 1e9), (t2 - t1) / 1e9,
                    mib / ((t2 - t0) / 1e9), (os.getProcessCpuTime() - cpu0) / 1e9);
            store.deleteAll("");
        }
    }

    private static double jdkRate(byte[] block) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        return rate(() -> md.update(block));
    }

    private static double bcRate(byte[] block) {
        SHA256Digest d = new SHA256Digest();
        return rate(() -> d.update(block, 0, block.length));
    }

    private static double rate(Runnable mib) {
        for (int i = 0; i < 256; i++) {
            mib.run(); // warm-up
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < 512; i++) {
            mib.run();
        }
        return 512 / ((System.nanoTime() - t0) / 1e9);
    }
}
