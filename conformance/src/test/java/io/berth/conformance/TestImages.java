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

    /** Seeded layers, so every test and every registry gets byte-identical ones; {@code b} is the one of a chosen size. */
    static final class Layers {
        final Path a;
        final Path b;
        final Path c;
        final Path d;
        final Path amd64;
        final Path arm64;
        final Path amd64b;
        final Path arm64b;
        final Path doomed;

        Layers(Path work) {
            this(work, 5000);
        }

        Layers(Path work, int bSize) {
            a = randomLayer(work, "a", 3000, 1);
            b = randomLayer(work, "b", bSize, 2);
            c = randomLayer(work, "c", 7000, 3);
            d = randomLayer(work, "d", 2000, 4);
            amd64 = randomLayer(work, "amd64", 1500, 5);
            arm64 = randomLayer(work, "arm64", 1600, 6);
            amd64b = randomLayer(work, "amd64b", 1700, 7);
            arm64b = randomLayer(work, "arm64b", 1800, 8);
            doomed = randomLayer(work, "doomed", 4000, 9);
        }
    }
}
