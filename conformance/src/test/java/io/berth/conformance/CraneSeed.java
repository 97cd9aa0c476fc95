package io.berth.conformance;

import io.berth.server.Berth;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Seeds images into Berth with crane, for tests of other clients: two-layer images (a busybox root file
 * system and a layer of seeded random bytes), images with a platform, and multi-arch indexes.
 */
final class CraneSeed {
    private final PeerCli crane;
    private final String host;
    private final Path work;

    CraneSeed(Berth berth, Path work) {
        try {
            this.work = Files.createDirectories(work);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.crane = PeerCli.of("CRANE", work.resolve("crane-home"));
        this.host = berth.hostAndPort();
    }

    /** {@code <berth>/<repoRef>}. */
    String ref(String repoRef) {
        return host + "/" + repoRef;
    }

    /** Pushes a two-layer image to {@code repoTag} (e.g. {@code seed/app:v1}); returns its manifest digest. */
    String image(String repoTag, long seed) {
        List<Path> layers = layers(seed);
        List<String> args = new ArrayList<>(List.of("append", "--insecure", "-t", ref(repoTag)));
        for (Path layer : layers) {
            args.add("-f");
            args.add(layer.toString());
        }
        return digestOf(crane.text(args.toArray(String[]::new)));
    }

    /** Pushes a two-layer image for {@code platform} (e.g. {@code linux/arm64}) to {@code repoTag}; returns its digest. */
    String platformImage(String repoTag, String platform, long seed) {
        image(repoTag, seed);
        return digestOf(crane.text("mutate", "--insecure", "--set-platform", platform, "-t", ref(repoTag), ref(repoTag)));
    }

    /** Pushes an OCI index of {@code children} (references within Berth, e.g. {@code seed/app@sha256:…}) to {@code repoTag}. */
    String index(String repoTag, String... children) {
        List<String> args = new ArrayList<>(List.of("index", "append", "--insecure", "-t", ref(repoTag)));
        for (String child : children) {
            args.add("-m");
            args.add(ref(child));
        }
        return digestOf(crane.text(args.toArray(String[]::new)));
    }

    /** The two layer tarballs of an image: the busybox root file system and 256 KiB of random bytes. */
    List<Path> layers(long seed) {
        try {
            Path dir = Files.createTempDirectory(work, "layers-");
            return List.of(TestImages.busyboxRootfs(dir), TestImages.randomLayer(dir, "random-" + seed, 256 * 1024, seed));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The digest from crane's {@code host/repo@sha256:…} output line. */
    static String digestOf(String craneOutput) {
        String last = craneOutput.strip().lines().reduce((a, b) -> b).orElse("");
        int at = last.lastIndexOf('@');
        if (at < 0 || !last.startsWith("sha256:", at + 1)) {
            throw new AssertionError("crane printed no digest reference: " + craneOutput);
        }
        return last.substring(at + 1);
    }
}
