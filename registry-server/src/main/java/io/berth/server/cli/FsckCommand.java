package io.berth.server.cli;

import io.berth.server.config.RegistryConfig;
import io.berth.storage.Fsck;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/** {@code berth fsck [--repair] CONFIG}: runs {@link Fsck} on the configured volume, progress on stderr. */
final class FsckCommand {
    /** A progress line every this many blobs, or every {@link #PROGRESS_INTERVAL}. */
    static final long PROGRESS_BLOBS = 1000;
    static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(5);

    private FsckCommand() {}

    /**
     * Returns 0 when no damage was found, 1 otherwise (leftovers such as orphans and unfinished uploads are not damage),
     * and 2 when the configured directory holds no volume.
     */
    static int run(Path configFile, boolean repair, PrintWriter out, PrintWriter err) {
        RegistryConfig cfg = BerthCommand.configuration(configFile, out);
        if (cfg.storage().s3() != null) {
            // An object store keeps no half-written file to find: objects appear whole or not at all.
            err.println("berth: fsck checks a filesystem volume; storage.s3 is an object store, where writes are whole objects and"
                    + " nothing is left half-written (use garbage-collect for what is unreferenced)");
            return BerthCommand.USAGE;
        }
        Path root = cfg.storage().rootDirectory();
        if (!Files.isDirectory(root.resolve("docker/registry/v2"))) {
            err.println("berth: fsck: " + root + " holds no registry volume (no docker/registry/v2); check storage.filesystem.rootdirectory");
            return BerthCommand.USAGE;
        }
        Fsck.Report report = Fsck.of(root).repair(repair)
                .progress(p -> err.printf(Locale.ROOT, "fsck: %d/%d blobs, %d/%d bytes%n", p.blobsDone(), p.blobsTotal(), p.bytesDone(), p.bytesTotal()),
                        PROGRESS_BLOBS, PROGRESS_INTERVAL)
                .run();
        for (Fsck.Finding f : report.findings()) {
            out.printf("%s %s %s: %s%s%n", f.kind().damage() ? "DAMAGE" : "leftover", f.kind(), f.path(), f.detail(),
                    f.repaired() == null ? "" : " (repaired: " + f.repaired() + ")");
        }
        long damage = report.findings().stream().filter(f -> f.kind().damage()).count();
        out.printf(Locale.ROOT, "fsck %s: %d blobs (%d bytes) in %d repositories; %d damaged, %d leftovers%s%n", root, report.blobs(),
                report.bytes(), report.repositories(), damage, report.findings().size() - damage, repair ? ", repaired where safe" : "");
        return report.damaged() ? 1 : 0;
    }
}
