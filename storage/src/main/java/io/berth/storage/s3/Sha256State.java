package io.berth.storage.s3;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.security.MessageDigestSpi;
import java.util.Arrays;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running SHA-256 whose state is saved and restored in BouncyCastle's encoded form
 * ({@link SHA256Digest#getEncodedState()}), the form an upload's {@code berth-state} keeps, so any replica resumes it.
 *
 * <p>Two engines write and read that same form. BouncyCastle's {@link SHA256Digest} always works. The JDK's own
 * SHA-256 (with its SHA-NI and AVX2 intrinsics, five to ten times BouncyCastle's rate on the benchmark machine) is
 * used when the JVM opens {@code sun.security.provider} to Berth
 * ({@code --add-opens java.base/sun.security.provider=ALL-UNNAMED}), which lets its state be read and set; it is
 * checked against BouncyCastle's encoding once at start, and left unused if they disagree.
 */
abstract sealed class Sha256State permits Sha256State.Jdk, Sha256State.Bc {
    private static final Logger log = LoggerFactory.getLogger(Sha256State.class);

    /** A new hash, on the fastest engine this JVM allows. */
    static Sha256State fresh() {
        return Jdk.AVAILABLE ? new Jdk() : new Bc(new SHA256Digest());
    }

    /** The hash {@code encoded} (BouncyCastle's form) describes, on the fastest engine this JVM allows. */
    static Sha256State restore(byte[] encoded) {
        return Jdk.AVAILABLE ? Jdk.restore(encoded) : new Bc(new SHA256Digest(encoded));
    }

    /** Whether this JVM hashes uploads with the JDK's SHA-256. */
    static boolean jdkEngine() {
        return Jdk.AVAILABLE;
    }

    abstract void update(byte[] b, int off, int len);

    /** The state, in BouncyCastle's encoded form. */
    abstract byte[] encodedState();

    /** The digest of the bytes so far; the running hash goes on unchanged. */
    abstract byte[] digest();

    /** BouncyCastle's SHA-256, whose own encoded state is the saved form. */
    static final class Bc extends Sha256State {
        private final SHA256Digest d;

        Bc(SHA256Digest d) {
            this.d = d;
        }

        @Override
        void update(byte[] b, int off, int len) {
            d.update(b, off, len);
        }

        @Override
        byte[] encodedState() {
            return d.getEncodedState();
        }

        @Override
        byte[] digest() {
            byte[] out = new byte[32];
            new SHA256Digest(d).doFinal(out, 0);
            return out;
        }
    }

    /** The JDK's SHA-256 ({@code sun.security.provider.SHA2$SHA256}), its state read and set through its fields. */
    static final class Jdk extends Sha256State {
        static final boolean AVAILABLE;
        private static final @Nullable MethodHandle NEW;
        private static final @Nullable MethodHandle UPDATE;
        private static final @Nullable MethodHandle DIGEST;
        private static final @Nullable VarHandle STATE;
        private static final @Nullable VarHandle BUFFER;
        private static final @Nullable VarHandle BUF_OFS;
        private static final @Nullable VarHandle BYTES;

        static {
            MethodHandle make = null;
            MethodHandle update = null;
            MethodHandle digest = null;
            VarHandle state = null;
            VarHandle buffer = null;
            VarHandle bufOfs = null;
            VarHandle bytes = null;
            boolean ok = false;
            try {
                Class<?> base = Class.forName("sun.security.provider.DigestBase");
                Class<?> sha2 = Class.forName("sun.security.provider.SHA2");
                Class<?> sha256 = Class.forName("sun.security.provider.SHA2$SHA256");
                MethodHandles.Lookup inBase = MethodHandles.privateLookupIn(base, MethodHandles.lookup());
                MethodHandles.Lookup inSha2 = MethodHandles.privateLookupIn(sha2, MethodHandles.lookup());
                make = MethodHandles.privateLookupIn(sha256, MethodHandles.lookup()).findConstructor(sha256, MethodType.methodType(void.class))
                        .asType(MethodType.methodType(MessageDigestSpi.class));
                update = inBase.findVirtual(base, "engineUpdate", MethodType.methodType(void.class, byte[].class, int.class, int.class))
                        .asType(MethodType.methodType(void.class, MessageDigestSpi.class, byte[].class, int.class, int.class));
                digest = inBase.findVirtual(base, "engineDigest", MethodType.methodType(byte[].class))
                        .asType(MethodType.methodType(byte[].class, MessageDigestSpi.class));
                state = inSha2.findVarHandle(sha2, "state", int[].class);
                buffer = inBase.findVarHandle(base, "buffer", byte[].class);
                bufOfs = inBase.findVarHandle(base, "bufOfs", int.class);
                bytes = inBase.findVarHandle(base, "bytesProcessed", long.class);
                ok = true;
            } catch (ReflectiveOperationException | RuntimeException e) {
                log.debug("the JDK's SHA-256 state is closed to Berth ({}); uploads hash with BouncyCastle", e.toString());
            }
            NEW = make;
            UPDATE = update;
            DIGEST = digest;
            STATE = state;
            BUFFER = buffer;
            BUF_OFS = bufOfs;
            BYTES = bytes;
            AVAILABLE = ok && agreesWithBouncyCastle();
            if (ok && !AVAILABLE) {
                log.warn("the JDK's SHA-256 state does not match BouncyCastle's encoding; uploads hash with BouncyCastle");
            }
        }

        private final MessageDigestSpi spi;

        Jdk() {
            try {
                this.spi = (MessageDigestSpi) java.util.Objects.requireNonNull(NEW).invokeExact();
            } catch (Throwable e) {
                throw new IllegalStateException("cannot make the JDK's SHA-256", e);
            }
        }

        static Jdk restore(byte[] encoded) {
            Decoded s = Decoded.of(encoded);
            Jdk j = new Jdk();
            Object spi = j.spi;
            int[] h = (int[]) java.util.Objects.requireNonNull(STATE).get(spi);
            System.arraycopy(s.h(), 0, h, 0, 8);
            byte[] buf = (byte[]) java.util.Objects.requireNonNull(BUFFER).get(spi);
            System.arraycopy(s.buffered(), 0, buf, 0, s.buffered().length);
            java.util.Objects.requireNonNull(BUF_OFS).set(spi, s.buffered().length);
            java.util.Objects.requireNonNull(BYTES).set(spi, s.count());
            return j;
        }

        @Override
        void update(byte[] b, int off, int len) {
            try {
                java.util.Objects.requireNonNull(UPDATE).invokeExact(spi, b, off, len);
            } catch (Throwable e) {
                throw rethrow(e);
            }
        }

        @Override
        byte[] encodedState() {
            int[] h = (int[]) java.util.Objects.requireNonNull(STATE).get((Object) spi);
            byte[] buf = (byte[]) java.util.Objects.requireNonNull(BUFFER).get((Object) spi);
            int ofs = (int) java.util.Objects.requireNonNull(BUF_OFS).get((Object) spi);
            long count = (long) java.util.Objects.requireNonNull(BYTES).get((Object) spi);
            return encode(h, Arrays.copyOf(buf, ofs), count);
        }

        @Override
        byte[] digest() {
            try {
                MessageDigestSpi copy = (MessageDigestSpi) spi.clone();
                return (byte[]) java.util.Objects.requireNonNull(DIGEST).invokeExact(copy);
            } catch (Throwable e) {
                throw rethrow(e);
            }
        }

        /** The same bytes through both engines give the same encoded state, and each resumes the other's. */
        private static boolean agreesWithBouncyCastle() {
            try {
                byte[] sample = new byte[199];
                for (int i = 0; i < sample.length; i++) {
                    sample[i] = (byte) (i * 31 + 7);
                }
                for (int cut : new int[] {0, 1, 3, 4, 5, 63, 64, 65, 130}) {
                    Jdk j = new Jdk();
                    j.update(sample, 0, cut);
                    SHA256Digest bc = new SHA256Digest();
                    bc.update(sample, 0, cut);
                    if (!Arrays.equals(j.encodedState(), bc.getEncodedState())) {
                        return false;
                    }
                    Sha256State fromBc = restore(bc.getEncodedState());
                    fromBc.update(sample, cut, sample.length - cut);
                    Bc fromJdk = new Bc(new SHA256Digest(j.encodedState()));
                    fromJdk.update(sample, cut, sample.length - cut);
                    if (!Arrays.equals(fromBc.digest(), fromJdk.digest())) {
                        return false;
                    }
                }
                return true;
            } catch (RuntimeException e) {
                return false;
            }
        }

        private static RuntimeException rethrow(Throwable e) {
            if (e instanceof RuntimeException r) {
                return r;
            }
            if (e instanceof Error err) {
                throw err;
            }
            return new IllegalStateException(e);
        }
    }

    /** BouncyCastle's form of a state: what it says, without the engine. */
    record Decoded(int[] h, byte[] buffered, long count) {
        /**
         * Reads BouncyCastle's {@code SHA256Digest} encoded state: the partial word and its length, the byte count,
         * H1..H8, the whole words buffered and their count, then one byte of purpose.
         */
        static Decoded of(byte[] s) {
            int partial = intAt(s, 4);
            long count = longAt(s, 8);
            int words = intAt(s, 48);
            if (partial < 0 || partial > 3 || words < 0 || words > 15 || s.length < 52 + 4 * words
                    || (count & 63) != 4L * words + partial) {
                throw new IllegalArgumentException("not a SHA-256 state");
            }
            int[] h = new int[8];
            for (int i = 0; i < 8; i++) {
                h[i] = intAt(s, 16 + 4 * i);
            }
            byte[] buffered = new byte[4 * words + partial];
            System.arraycopy(s, 52, buffered, 0, 4 * words);
            System.arraycopy(s, 0, buffered, 4 * words, partial);
            return new Decoded(h, buffered, count);
        }
    }

    /** The purpose byte BouncyCastle ends its encoded state with. */
    private static final byte PURPOSE;

    static {
        byte[] fresh = new SHA256Digest().getEncodedState();
        PURPOSE = fresh[fresh.length - 1];
    }

    /** BouncyCastle's encoded state for hash {@code h} after {@code count} bytes, {@code buffered} of them not yet compressed. */
    static byte[] encode(int[] h, byte[] buffered, long count) {
        int words = buffered.length / 4;
        int partial = buffered.length % 4;
        byte[] s = new byte[52 + 4 * words + 1];
        System.arraycopy(buffered, 4 * words, s, 0, partial);
        putInt(s, 4, partial);
        putLong(s, 8, count);
        for (int i = 0; i < 8; i++) {
            putInt(s, 16 + 4 * i, h[i]);
        }
        putInt(s, 48, words);
        System.arraycopy(buffered, 0, s, 52, 4 * words);
        s[s.length - 1] = PURPOSE;
        return s;
    }

    private static int intAt(byte[] b, int at) {
        return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
    }

    private static long longAt(byte[] b, int at) {
        return (long) intAt(b, at) << 32 | (intAt(b, at + 4) & 0xffffffffL);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    private static void putLong(byte[] b, int at, long v) {
        putInt(b, at, (int) (v >>> 32));
        putInt(b, at + 4, (int) v);
    }
}
