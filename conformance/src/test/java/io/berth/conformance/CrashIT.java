package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash consistency, proven by killing: Berth runs as its own process on one volume while {@link #WORKERS} clients
 * push (streamed monolithic and chunked uploads, small blobs and a few past the 4 MiB where uploads go
 * {@code O_DIRECT}), put manifests that move tags, and delete manifests and tags. At a random instant it is killed
 * with SIGKILL, then restarted on the same volume, and each client checks that:
 * <ul>
 *   <li>every manifest, tag and blob Berth acknowledged is there and reads back with its digest (GET by tag and by
 *       digest, and every blob a manifest refers to); every delete acknowledged stays done;
 *   <li>the request in flight at the kill left one of its two outcomes, nothing in between, and no read anywhere
 *       served content that does not hash to its digest;
 *   <li>the tags list holds exactly the tags that resolve;
 *   <li>its interrupted upload resumes from what the status GET reports and completes with the right digest.
 * </ul>
 * Every {@link #FSCK_EVERY} rounds, and after the last, {@code berth fsck} runs on the stopped volume and must find no
 * damage (orphan blobs and unfinished uploads are leftovers, not damage). Berth collects garbage online throughout
 * ({@code berth.gc}, every {@link CrashWorker#GC_INTERVAL} with a grace period of {@link CrashWorker#GC_GRACE}), so
 * kills also land inside collections: between burying blobs and deleting them, and in the mark. The run must see the
 * collector delete blobs.
 *
 * <p>{@code -Dcrash.kills=N} (default 100) and {@code -Dcrash.seed=S} choose the run; {@code scripts/crash-harness.sh}
 * runs it. The totals go to {@code target/crash-report.md}. A seed fixes the choices of operations, sizes and kill
 * delays, not the instants the kills land at, so a replay is close to the run, not identical.
 */
@Tag("crash")
class CrashIT {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final int WORKERS = 4;
    private static final int FSCK_EVERY = 25;
    private static final Path REPORT = Path.of("target", "crash-report.md");

    @Test
    void everyAcknowledgedWriteSurvivesSigkillAndNothingPartialIsEverServed(@TempDir Path work) throws Exception {
        int kills = Integer.getInteger("crash.kills", 100);
        long seed = Long.getLong("crash.seed", System.nanoTime());
        Random rng = new Random(seed);
        CrashWorker.Stats stats = new CrashWorker.Stats();
        List<CrashWorker> workers = new ArrayList<>();
        for (int i = 0; i < WORKERS; i++) {
            workers.add(new CrashWorker("crash/w" + i, rng.nextLong(), stats));
        }
        CrashBerth berth = new CrashBerth(work);
        List<String> fsckRuns = new ArrayList<>();
        long started = System.nanoTime();
        long startNanos = 0;
        long checkNanos = 0;
        int round = 0;
        try {
            for (; round < kills; round++) {
                int port = BinBerthIT.freePort();
                long t0 = System.nanoTime();
                if (berth.collectionWasCut()) {
                    stats.killsInsideCollection.incrementAndGet();
                }
                berth.start(port);
                long t1 = System.nanoTime();
                startNanos += t1 - t0;
                try (CrashWorker.Http http = new CrashWorker.Http(port)) {
                    for (CrashWorker w : workers) {
                        w.settle(http);
                        w.check(http, false);
                    }
                    checkNanos += System.nanoTime() - t1;
                    AtomicBoolean stop = new AtomicBoolean();
                    List<Thread> threads = new ArrayList<>();
                    for (CrashWorker w : workers) {
                        threads.add(Thread.ofPlatform().name("crash-" + w.repo).start(() -> w.write(http, stop)));
                    }
                    if (rng.nextInt(4) == 0) {
                        // Aimed at a collection: killed once its marker shows it is burying or deleting.
                        berth.awaitCollection(Duration.ofSeconds(3));
                        Thread.sleep(rng.nextInt(3));
                    } else {
                        Thread.sleep(100 + rng.nextInt(700));
                    }
                    berth.kill();
                    stop.set(true);
                    for (Thread t : threads) {
                        t.join(TimeUnit.SECONDS.toMillis(60));
                        assertThat(t.isAlive()).as("%s still runs a minute after the kill", t.getName()).isFalse();
                    }
                }
                if ((round + 1) % FSCK_EVERY == 0 && round + 1 < kills) {
                    fsckRuns.add("after kill " + (round + 1) + ": " + berth.fsck(stats));
                }
            }
            int port = BinBerthIT.freePort();
            berth.start(port);
            try (CrashWorker.Http http = new CrashWorker.Http(port)) {
                for (CrashWorker w : workers) {
                    w.settle(http);
                    w.check(http, true);
                }
            }
            berth.stop();
            fsckRuns.add("after the final check: " + berth.fsck(stats));
        } finally {
            berth.stop();
            berth.countCollections(stats);
            writeReport(seed, round, stats, fsckRuns, Duration.ofNanos(System.nanoTime() - started),
                    String.format(Locale.ROOT, "each restart took %.0f ms until Berth answered, and its settling and checks %.0f ms, on average",
                            startNanos / 1e6 / Math.max(1, round), checkNanos / 1e6 / Math.max(1, round)));
        }
        assertThat(round).isEqualTo(kills);
        assertThat(stats.acknowledged.get()).as("acknowledged writes").isGreaterThan(kills);
        assertThat(stats.uploadsInterrupted.get()).as("uploads cut by a kill").isPositive();
        assertThat(stats.gcBlobsDeleted.get()).as("blobs the online collector deleted during the run").isPositive();
        assertThat(stats.corruptReads.get()).as("reads that did not hash to their digest").isZero();
        assertThat(stats.problems).as("lost, partial or phantom state (seed %d)", seed).isEmpty();
    }

    private static void writeReport(long seed, int kills, CrashWorker.Stats s, List<String> fsckRuns, Duration took, String timing)
            throws IOException {
        Files.createDirectories(REPORT.getParent());
        StringBuilder md = new StringBuilder("# Crash harness (CrashIT)\n\n")
                .append(String.format(Locale.ROOT, "Seed %d, %d workers, %.0f s; %s.%n%n", seed, WORKERS, took.toMillis() / 1000.0, timing))
                .append("| what | count |\n|---|---|\n")
                .append("| SIGKILLs, each followed by a restart on the same volume | ").append(kills).append(" |\n")
                .append("| writes acknowledged (blobs, manifest puts, deletes) | ").append(s.acknowledged.get()).append(" |\n")
                .append("| requests in flight at a kill, settled after the restart | ").append(s.inFlightAtKill.get()).append(" |\n")
                .append("| checks of acknowledged state (reads, tag lists, deletes) | ").append(s.checks.get()).append(" |\n")
                .append("| reads hashed | ").append(s.reads.get()).append(" (").append(s.readBytes.get()).append(" bytes) |\n")
                .append("| **corrupt reads** (content not hashing to its digest) | **").append(s.corruptReads.get()).append("** |\n")
                .append("| blobs over 4 MiB pushed (O_DIRECT path) | ").append(s.largeBlobs.get()).append(" |\n")
                .append("| uploads cut by a kill | ").append(s.uploadsInterrupted.get()).append(" |\n")
                .append("| ... resumed from the status GET and completed | ").append(s.uploadsResumed.get()).append(" |\n")
                .append("| ... committed before the kill | ").append(s.uploadsCommittedBeforeKill.get()).append(" |\n")
                .append("| ... cut inside the commit (PUT sent): upload gone, blob not linked, the client pushes again | ")
                .append(s.uploadsCommitCut.get()).append(" |\n")
                .append("| ... **gone before any PUT** (must be 0) | **").append(s.uploadsGone.get()).append("** |\n")
                .append("| online collections completed (`berth.gc`) | ").append(s.gcRuns.get()).append(" |\n")
                .append("| ... blobs they deleted | ").append(s.gcBlobsDeleted.get()).append(" |\n")
                .append("| kills between a collection's first bury and its last delete (`gc-unfinished` left) | ")
                .append(s.killsInsideCollection.get()).append(" |\n")
                .append("| acknowledged blobs no manifest referred to, found collected after the grace period | ")
                .append(s.blobsCollected.get()).append(" |\n")
                .append("| manifest puts refused (MANIFEST_BLOB_UNKNOWN) as a blob pushed for them outlived the grace period | ")
                .append(s.manifestPutsRefusedForCollectedBlob.get()).append(" |\n")
                .append("\n## berth fsck on the stopped volume\n\n");
        fsckRuns.forEach(r -> md.append("- ").append(r).append('\n'));
        md.append("\n## Problems\n\n");
        if (s.problems.isEmpty()) {
            md.append("None.\n");
        }
        s.problems.forEach(p -> md.append("- ").append(p).append('\n'));
        Files.writeString(REPORT, md);
    }

    /** Berth from the built jar, started and SIGKILLed again and again on one volume. */
    static final class CrashBerth {
        private final Path work;
        private final Path jar = Path.of(System.getProperty("berth.jar",
                HostileBerth.REPO_ROOT.resolve("registry-server/target/berth-server.jar").toString()));
        private final List<String> jvm = new ArrayList<>(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx256m"));
        private Process process;

        CrashBerth(Path work) throws Exception {
            this.work = work;
            Path cache = work.resolve("crash.aot");
            // A hundred starts: an AOT cache (JDK 25+) halves each one. Without it the starts are only slower.
            if (Runtime.version().feature() >= 25) {
                List<String> train = command(List.of("-XX:AOTCacheOutput=" + cache), "aot-training");
                Process p = new ProcessBuilder(train).redirectErrorStream(true).redirectOutput(work.resolve("aot.log").toFile()).start();
                if (p.waitFor(2, TimeUnit.MINUTES) && p.exitValue() == 0 && Files.size(cache) > 0) {
                    jvm.add("-XX:AOTCache=" + cache);
                } else {
                    p.destroyForcibly().waitFor();
                }
            }
        }

        private List<String> command(List<String> extra, String... args) {
            List<String> c = new ArrayList<>();
            c.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            c.addAll(jvm);
            c.addAll(extra);
            c.add("-jar");
            c.add(jar.toString());
            c.addAll(List.of(args));
            return c;
        }

        private Path config(int port) throws IOException {
            return Files.writeString(work.resolve("config.yml"), """
                    version: 0.1
                    log:
                      level: info
                      accesslog:
                        disabled: true
                    storage:
                      filesystem:
                        rootdirectory: %s
                      delete:
                        enabled: true
                    http:
                      addr: 127.0.0.1:%d
                    berth:
                      gc:
                        enabled: true
                        interval: %dms
                        gracePeriod: %dms
                    """.formatted(work.resolve("data"), port, CrashWorker.GC_INTERVAL.toMillis(), CrashWorker.GC_GRACE.toMillis()));
        }

        /** Whether the last kill cut a collection between its first bury and its last delete (its marker is left). */
        boolean collectionWasCut() {
            return Files.exists(collectionMarker());
        }

        /** Waits until a collection has started burying, or {@code atMost}. */
        void awaitCollection(Duration atMost) throws InterruptedException {
            long deadline = System.nanoTime() + atMost.toNanos();
            while (!Files.exists(collectionMarker()) && System.nanoTime() < deadline) {
                Thread.sleep(0, 200_000);
            }
        }

        private Path collectionMarker() {
            return work.resolve("data/docker/registry/v2/_berth/gc-unfinished");
        }

        /** Counts the collections that completed, from Berth's log, and the blobs they deleted. */
        void countCollections(CrashWorker.Stats stats) throws IOException {
            java.util.regex.Pattern done = java.util.regex.Pattern.compile("collected (\\d+) blob\\(s\\) of");
            try (var lines = Files.lines(work.resolve("berth.log"))) {
                lines.map(done::matcher).filter(java.util.regex.Matcher::find).forEach(m -> {
                    stats.gcRuns.incrementAndGet();
                    stats.gcBlobsDeleted.addAndGet(Long.parseLong(m.group(1)));
                });
            }
        }

        void start(int port) throws Exception {
            Path log = work.resolve("berth.log");
            process = new ProcessBuilder(command(List.of(), "serve", config(port).toString()))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            try (CrashWorker.Http http = new CrashWorker.Http(port)) {
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (true) {
                    if (!process.isAlive()) {
                        throw new AssertionError("Berth exited " + process.exitValue() + ":\n" + Proc.tailOf(log));
                    }
                    try {
                        if (http.send("GET", "/v2/", null).statusCode() == 200) {
                            return;
                        }
                    } catch (IOException e) {
                        // not listening yet
                    }
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("Berth did not start:\n" + Proc.tailOf(log));
                    }
                    Thread.sleep(20);
                }
            }
        }

        /** SIGKILL: no shutdown hook, no flush, no close. */
        void kill() throws InterruptedException {
            process.destroyForcibly().waitFor();
        }

        void stop() throws InterruptedException {
            if (process != null && process.isAlive()) {
                kill();
            }
        }

        /** Runs {@code berth fsck} on the stopped volume; it must find no damage. Returns its summary line. */
        String fsck(CrashWorker.Stats stats) throws Exception {
            Proc.Result r = Proc.run(command(List.of(), "fsck", work.resolve("config.yml").toString()), java.util.Map.of(), Duration.ofMinutes(3));
            String summary = r.output().lines().filter(l -> l.startsWith("fsck ")).reduce((a, b) -> b).orElse("(no summary)");
            if (r.exitCode() != 0) {
                stats.problem("berth fsck exited " + r.exitCode() + ":\n" + r.output().lines().filter(l -> l.startsWith("DAMAGE")).limit(20)
                        .reduce("", (a, b) -> a + b + "\n") + summary);
            }
            return summary.replace(work.toString(), "<volume>") + " (exit " + r.exitCode() + ")";
        }
    }
}
