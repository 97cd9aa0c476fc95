import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.SplittableRandom;

/**
 * The SHA-256 rate of this JDK's MessageDigest, fed as Berth feeds it: 64 KiB direct buffers (Netty's
 * pooled direct memory), and for comparison 1 MiB heap arrays. Run: java Sha256Rate.java BYTES.
 * Prints one JSON object with MiB/s for each way (best of three passes, after a warm-up).
 */
public final class Sha256Rate {
    public static void main(String[] args) throws Exception {
        long size = Long.parseLong(args[0]);
        byte[] heap = new byte[1 << 20];
        new SplittableRandom(1).nextBytes(heap);
        ByteBuffer direct = ByteBuffer.allocateDirect(64 << 10);
        direct.put(heap, 0, 64 << 10).flip();
        pass(Math.min(size, 256L << 20), heap, direct, true);
        pass(Math.min(size, 256L << 20), heap, direct, false);
        double bestDirect = 0, bestHeap = 0;
        for (int i = 0; i < 3; i++) {
            bestDirect = Math.max(bestDirect, pass(size, heap, direct, true));
            bestHeap = Math.max(bestHeap, pass(size, heap, direct, false));
        }
        System.out.printf("{\"java_direct64k_mib_s\":%.1f,\"java_heap1m_mib_s\":%.1f}%n", bestDirect, bestHeap);
    }

    private static double pass(long size, byte[] heap, ByteBuffer direct, boolean useDirect) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        long start = System.nanoTime();
        long done = 0;
        while (done < size) {
            if (useDirect) {
                md.update(direct.duplicate());
                done += direct.remaining();
            } else {
                md.update(heap);
                done += heap.length;
            }
        }
        md.digest();
        return done / (1024.0 * 1024.0) / ((System.nanoTime() - start) / 1e9);
    }
}
