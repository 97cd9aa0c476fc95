package io.berth.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.junit.jupiter.api.Test;

/**
 * Sha256State: both engines save and resume the same state, so replicas that hash with different engines (one JVM
 * opened to the JDK's SHA-256, one not) resume each other's uploads.
 */
class Sha256StateTest {
    static final int[] CUTS = {0, 1, 3, 4, 5, 55, 56, 63, 64, 65, 127, 128, 1000, 4096, 10_001};

    /** Checks every cut with the engine this JVM picks, against the JDK's digest and BouncyCastle's own state. */
    static List<String> check() throws Exception {
        List<String> failures = new ArrayList<>();
        byte[] data = new byte[20_000];
        new Random(5).nextBytes(data);
        byte[] expected = MessageDigest.getInstance("SHA-256").digest(data);
        for (int cut : CUTS) {
            Sha256State s = Sha256State.fresh();
            s.update(data, 0, cut);
            SHA256Digest bc = new SHA256Digest();
            bc.update(data, 0, cut);
            if (!java.util.Arrays.equals(s.encodedState(), bc.getEncodedState())) {
                failures.add("state after " + cut + " differs from BouncyCastle's");
            }
            Sha256State resumed = Sha256State.restore(bc.getEncodedState());
            resumed.update(data, cut, data.length - cut);
            if (!java.util.Arrays.equals(resumed.digest(), expected)) {
                failures.add("resumed from BouncyCastle's state after " + cut + ": wrong digest");
            }
            SHA256Digest byBc = new SHA256Digest(s.encodedState());
            byBc.update(data, cut, data.length - cut);
            byte[] out = new byte[32];
            byBc.doFinal(out, 0);
            if (!java.util.Arrays.equals(out, expected)) {
                failures.add("BouncyCastle resumed from this engine's state after " + cut + ": wrong digest");
            }
            s.digest(); // a digest leaves the running hash as it was
            s.update(data, cut, data.length - cut);
            if (!java.util.Arrays.equals(s.digest(), expected)) {
                failures.add("running hash after a digest at " + cut + ": wrong digest");
            }
        }
        return failures;
    }

    /** Run in a JVM with the JDK's SHA-256 opened: prints the engine and the failures, exits 0 when there are none. */
    public static void main(String[] args) throws Exception {
        List<String> failures = check();
        System.out.println("jdk=" + Sha256State.jdkEngine() + " " + failures);
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    @Test
    void engineOfThisJvmSavesAndResumesBouncyCastlesState() throws Exception {
        assertThat(check()).isEmpty();
    }

    @Test
    void jdkEngineSavesAndResumesBouncyCastlesStateWhenOpened(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        String javaBin = ProcessHandle.current().info().command().orElse("java");
        Path out = tmp.resolve("out.txt");
        Process p = new ProcessBuilder(javaBin, "--add-opens", "java.base/sun.security.provider=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Sha256StateTest.class.getName())
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the JVM ends").isTrue();
        } finally {
            p.destroyForcibly();
        }
        String said = java.nio.file.Files.readString(out);
        assertThat(said).contains("jdk=true []");
        assertThat(p.exitValue()).as(said).isZero();
    }
}
