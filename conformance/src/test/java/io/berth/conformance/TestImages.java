package io.berth.conformance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Image layers made locally, since no image can be pulled from outside: a busybox root filesystem
 * (from Debian's busybox-static) that {@code docker run} can start, and layers of random bytes.
 */
final class TestImages {
    private TestImages() {}

    /** A tar of a minimal root filesystem: /bin/busybox, /bin/sh and /etc/berth-test. */
    static Path busyboxRootfs(Path work) {
        try {
            Path root = Files.createDirectories(work.resolve("rootfs"));
            Path bin = Files.createDirectories(root.resolve("bin"));
            Files.copy(Path.of("/bin/busybox"), bin.resolve("busybox"));
            Files.createSymbolicLink(bin.resolve("sh"), Path.of("busybox"));
            Files.createSymbolicLink(bin.resolve("cat"), Path.of("busybox"));
            Files.createSymbolicLink(bin.resolve("echo"), Path.of("busybox"));
            Files.writeString(Files.createDirectories(root.resolve("etc")).resolve("berth-test"), "served by berth\n");
            return tar(root, work.resolve("rootfs.tar"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A tar holding one file of {@code size} random bytes (seeded, so reproducible) named {@code name}. */
    static Path randomLayer(Path work, String name, int size, long seed) {
        try {
            Path root = Files.createDirectories(work.resolve("layer-" + name));
            byte[] data = new byte[size];
            new Random(seed).nextBytes(data);
            Files.write(root.resolve(name), data);
            return tar(root, work.resolve(name + ".tar"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path tar(Path dir, Path out) {
        Proc.ok(List.of("tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-C", dir.toString(), "-cf", out.toString(), "."),
                Map.of(), Duration.ofMinutes(1));
        return out;
    }
}
