package io.berth.conformance;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * One client of {@link CrashIT}: it owns one repository and writes to it one request at a time (streamed monolithic
 * and chunked blob pushes, manifest puts that move tags, manifest and tag deletes), recording what Berth
 * acknowledged. After each kill and restart it settles the request that was in flight when Berth died (either
 * outcome is allowed, nothing else), resumes its interrupted upload, and checks that everything acknowledged is
 * there and reads back with the right digest.
 *
 * <p>Berth collects garbage online all the while ({@link #GC_GRACE}). So an acknowledged blob must stay while a
 * manifest the worker knows refers to it, or while it is younger than the grace period (its data file is written
 * after its first request was sent); an older blob no manifest refers to may be gone. A manifest put may be refused
 * with MANIFEST_BLOB_UNKNOWN only when one of the blobs pushed for it is older than the grace period.
 */
final class CrashWorker {
    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    /** Berth's {@code berth.gc.gracePeriod} in the harness; it collects every {@link #GC_INTERVAL}. */
    static final Duration GC_GRACE = Duration.ofSeconds(2);
    static final Duration GC_INTERVAL = Duration.ofMillis(300);
    /** File times lag the clock by up to a tick of the kernel's coarse clock: a blob may look this much older. */
    private static final long FILE_TIME_SLACK_NANOS = Duration.ofMillis(100).toNanos();
    private static final String[] TAGS = {"a", "b", "c", "d"};

    /** Totals over all workers, and every problem found. */
    static final class Stats {
        final AtomicLong acknowledged = new AtomicLong();
        final AtomicLong checks = new AtomicLong();
        final AtomicLong reads = new AtomicLong();
        final AtomicLong readBytes = new AtomicLong();
        final AtomicLong corruptReads = new AtomicLong();
        final AtomicLong inFlightAtKill = new AtomicLong();
        final AtomicLong uploadsInterrupted = new AtomicLong();
        final AtomicLong uploadsResumed = new AtomicLong();
        final AtomicLong uploadsCommittedBeforeKill = new AtomicLong();
        final AtomicLong uploadsGone = new AtomicLong();
        final AtomicLong uploadsCommitCut = new AtomicLong();
        final AtomicLong largeBlobs = new AtomicLong();
        final AtomicLong blobsCollected = new AtomicLong();
        final AtomicLong gcRuns = new AtomicLong();
        final AtomicLong gcBlobsDeleted = new AtomicLong();
        final AtomicLong killsInsideCollection = new AtomicLong();
        final AtomicLong manifestPutsRefusedForCollectedBlob = new AtomicLong();
        final List<String> problems = new ArrayList<>();

        synchronized void problem(String p) {
            if (problems.size() < 200) {
                problems.add(p);
            }
        }
    }

    private record Manifest(byte[] content, List<String> blobs) {}

    /**
     * An upload Berth acknowledged (POST, PATCHes) but whose blob was not yet acknowledged; {@code committing} once
     * the PUT that ends it was sent.
     */
    private record Pending(String path, byte[] content, String digest, long acked, boolean committing, long startedNanos) {
        Pending putSent() {
            return new Pending(path, content, digest, acked, true, startedNanos);
        }

        Pending at(String path, long acked) {
            return new Pending(path, content, digest, acked, false, startedNanos);
        }
    }

    /** A blob Berth acknowledged, and when its push was first sent (its data file is no older). */
    private record Blob(long size, long sentNanos) {}

    /** The request in flight when Berth was killed: what each of its outcomes would leave. */
    private sealed interface InFlight {}

    private record BlobPush(String digest, long size, long sentNanos) implements InFlight {}

    private record ManifestPut(String digest, Manifest manifest, @Nullable String tag, @Nullable String before) implements InFlight {}

    private record ManifestDelete(String digest, List<String> tags) implements InFlight {}

    private record TagDelete(String tag, String digest) implements InFlight {}

    final String repo;
    private final Random rng;
    private final Stats stats;
    private final Map<String, Blob> blobs = new LinkedHashMap<>();
    private final Map<String, Manifest> manifests = new LinkedHashMap<>();
    private final Map<String, String> tags = new HashMap<>();
    private final Set<String> deletedManifests = new HashSet<>();
    private final Set<String> deletedTags = new HashSet<>();
    /** Acknowledged since the last check, so each round checks its own writes and the final check all. */
    private final Set<String> uncheckedBlobs = new HashSet<>();
    private final Set<String> uncheckedManifests = new HashSet<>();
    private @Nullable InFlight inFlight;
    private @Nullable Pending upload;
    private int seq;

    CrashWorker(String repo, long seed, Stats stats) {
        this.repo = repo;
        this.rng = new Random(seed);
        this.stats = stats;
    }

    /** Writes until Berth stops answering (it was killed) or {@code stop} is set. */
    void write(Http http, AtomicBoolean stop) {
        try {
            while (!stop.get()) {
                int op = rng.nextInt(100);
                if (op < 45) {
                    pushImage(http, rng.nextInt(5) == 0 ? null : TAGS[rng.nextInt(TAGS.length)]);
                } else if (op < 65) {
                    pushBlob(http, blobContent());
                } else if (op < 80 && !manifests.isEmpty()) {
                    deleteManifest(http);
                } else if (op < 90 && !tags.isEmpty()) {
                    deleteTag(http);
                }
            }
        } catch (IOException e) {
            // Berth died under this request: settle() finds out what it left
            if (inFlight != null || upload != null) {
                stats.inFlightAtKill.incrementAndGet();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private byte[] blobContent() {
        boolean large = rng.nextInt(25) == 0;
        int size = large ? (4 << 20) + rng.nextInt(2 << 20) : 2 + rng.nextInt(48 << 10);
        if (large) {
            stats.largeBlobs.incrementAndGet();
        }
        byte[] b = new byte[size];
        rng.nextBytes(b);
        return b;
    }

    /** Pushes a blob in one of three ways; returns its digest once Berth acknowledged it. */
    private String pushBlob(Http http, byte[] content) throws IOException, InterruptedException {
        String digest = sha256(content);
        long sent = System.nanoTime();
        switch (rng.nextInt(3)) {
            case 0 -> { // one POST with the body
                inFlight = new BlobPush(digest, content.length, sent);
                expect(http.send("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + digest, content), 201, "monolithic POST");
            }
            case 1 -> { // POST, then a streamed PUT with the body
                String path = location(expect(http.send("POST", "/v2/" + repo + "/blobs/uploads/", null), 202, "POST"));
                upload = new Pending(path, content, digest, 0, true, sent);
                inFlight = new BlobPush(digest, content.length, sent);
                expect(http.send("PUT", withDigest(path, digest), content), 201, "monolithic PUT");
            }
            default -> chunked(http, content, digest, sent);
        }
        acknowledgeBlob(digest, new Blob(content.length, sent));
        return digest;
    }

    private void chunked(Http http, byte[] content, String digest, long sent) throws IOException, InterruptedException {
        String path = location(expect(http.send("POST", "/v2/" + repo + "/blobs/uploads/", null), 202, "POST"));
        upload = new Pending(path, content, digest, 0, false, sent);
        patchFrom(http, 0);
        upload = upload.putSent();
        inFlight = new BlobPush(digest, content.length, sent);
        expect(http.send("PUT", withDigest(upload.path(), digest), null), 201, "closing PUT");
    }

    /** Sends the rest of {@link #upload} from {@code from}, in PATCHes, recording each acknowledged range. */
    private void patchFrom(Http http, long from) throws IOException, InterruptedException {
        Pending u = upload;
        byte[] content = u.content();
        int chunk = content.length > (1 << 20) ? 1 << 20 : Math.max(1, content.length / 3);
        for (long at = from; at < content.length; at += chunk) {
            int n = (int) Math.min(chunk, content.length - at);
            byte[] part = java.util.Arrays.copyOfRange(content, (int) at, (int) at + n);
            HttpResponse<byte[]> r = http.send("PATCH", u.path(), part, "Content-Range", at + "-" + (at + n - 1));
            expect(r, 202, "PATCH");
            u = u.at(location(r), at + n);
            upload = u;
        }
    }

    private void acknowledgeBlob(String digest, Blob blob) {
        inFlight = null;
        upload = null;
        blobs.put(digest, blob);
        uncheckedBlobs.add(digest);
        stats.acknowledged.incrementAndGet();
    }

    private void pushImage(Http http, @Nullable String tag) throws IOException, InterruptedException {
        byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"seed\":\"" + repo + "-" + seq++ + "\"}").getBytes(StandardCharsets.UTF_8);
        long firstSent = System.nanoTime();
        String configDigest = pushBlob(http, config);
        List<String> layers = new ArrayList<>();
        // Only a blob a manifest still refers to is reused: any other may have been collected.
        Set<String> referenced = referencedBlobs();
        StringBuilder json = new StringBuilder("{\"schemaVersion\":2,\"mediaType\":\"" + OCI_MANIFEST + "\",\"config\":")
                .append(descriptor("application/vnd.oci.image.config.v1+json", configDigest, config.length)).append(",\"layers\":[");
        int n = 1 + rng.nextInt(2);
        for (int i = 0; i < n; i++) {
            String layer = rng.nextInt(3) == 0 && !referenced.isEmpty() ? anyOf(referenced) : pushBlob(http, blobContent());
            layers.add(layer);
            json.append(i > 0 ? "," : "").append(descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer, blobs.get(layer).size()));
        }
        byte[] content = json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
        String digest = sha256(content);
        List<String> refs = new ArrayList<>(layers);
        refs.add(configDigest);
        Manifest m = new Manifest(content, refs);
        inFlight = new ManifestPut(digest, m, tag, tag == null ? null : tags.get(tag));
        HttpResponse<byte[]> r = http.send("PUT", "/v2/" + repo + "/manifests/" + (tag == null ? digest : tag), content, "Content-Type", OCI_MANIFEST);
        if (r.statusCode() == 400 && new String(r.body(), StandardCharsets.UTF_8).contains("MANIFEST_BLOB_UNKNOWN")
                && mayBeCollected(firstSent, System.nanoTime())) {
            // The push took longer than the grace period, and the collector took one of its blobs: refused, not lost.
            inFlight = null;
            stats.manifestPutsRefusedForCollectedBlob.incrementAndGet();
            return;
        }
        expect(r, 201, "manifest PUT");
        if (!digest.equals(r.headers().firstValue("Docker-Content-Digest").orElse(""))) {
            stats.problem(repo + ": manifest PUT answered digest " + r.headers().firstValue("Docker-Content-Digest") + ", not " + digest);
        }
        inFlight = null;
        manifests.put(digest, m);
        uncheckedManifests.add(digest);
        if (tag != null) {
            tags.put(tag, digest);
            deletedTags.remove(tag);
        }
        stats.acknowledged.incrementAndGet();
    }

    private void deleteManifest(Http http) throws IOException, InterruptedException {
        String digest = anyOf(manifests.keySet());
        List<String> pointing = tags.entrySet().stream().filter(e -> e.getValue().equals(digest)).map(Map.Entry::getKey).toList();
        inFlight = new ManifestDelete(digest, pointing);
        expect(http.send("DELETE", "/v2/" + repo + "/manifests/" + digest, null), 202, "manifest DELETE");
        inFlight = null;
        forgetManifest(digest, pointing);
        stats.acknowledged.incrementAndGet();
    }

    private void forgetManifest(String digest, List<String> pointing) {
        manifests.remove(digest);
        uncheckedManifests.remove(digest);
        deletedManifests.add(digest);
        for (String t : pointing) {
            tags.remove(t);
            deletedTags.add(t);
        }
    }

    private void deleteTag(Http http) throws IOException, InterruptedException {
        String tag = anyOf(tags.keySet());
        inFlight = new TagDelete(tag, tags.get(tag));
        expect(http.send("DELETE", "/v2/" + repo + "/manifests/" + tag, null), 202, "tag DELETE");
        inFlight = null;
        tags.remove(tag);
        deletedTags.add(tag);
        stats.acknowledged.incrementAndGet();
    }

    // ---------------------------------------------------------------- after a restart

    /**
     * Settles the request that was in flight at the kill: the state Berth restarted with must be one of the two its
     * outcomes allow. Then resumes the interrupted upload, if any, from where Berth says it stands.
     */
    void settle(Http http) throws IOException, InterruptedException {
        InFlight f = inFlight;
        inFlight = null;
        switch (f) {
            case null -> {}
            case BlobPush b -> {
                if (upload == null && readBlob(http, b.digest(), "in-flight blob") == 200) {
                    acknowledgeBlob(b.digest(), new Blob(b.size(), b.sentNanos()));
                }
            }
            case ManifestPut p -> {
                int byDigest = readManifest(http, "/manifests/" + p.digest(), p.digest(), "in-flight manifest by digest");
                if (byDigest == 200) {
                    manifests.put(p.digest(), p.manifest());
                    uncheckedManifests.add(p.digest());
                }
                if (p.tag() != null) {
                    String now = tagNow(http, p.tag());
                    if (!java.util.Objects.equals(now, p.before()) && !p.digest().equals(now)) {
                        stats.problem(repo + ":" + p.tag() + " is " + now + " after a kill during its move from " + p.before() + " to " + p.digest());
                    }
                    if (p.digest().equals(now) && byDigest != 200) {
                        stats.problem(repo + ":" + p.tag() + " points at " + now + ", which is not pullable by digest");
                    }
                    setTag(p.tag(), now);
                }
            }
            case ManifestDelete d -> {
                if (readManifest(http, "/manifests/" + d.digest(), d.digest(), "manifest whose delete was cut") == 404) {
                    forgetManifest(d.digest(), List.of());
                }
                for (String t : d.tags()) {
                    String now = tagNow(http, t);
                    if (now != null && !now.equals(d.digest())) {
                        stats.problem(repo + ":" + t + " is " + now + " after a kill while deleting " + d.digest());
                    }
                    setTag(t, now);
                }
            }
            case TagDelete d -> {
                String now = tagNow(http, d.tag());
                if (now != null && !now.equals(d.digest())) {
                    stats.problem(repo + ":" + d.tag() + " is " + now + " after a kill while deleting it (was " + d.digest() + ")");
                }
                setTag(d.tag(), now);
            }
        }
        if (upload != null) {
            resume(http, upload);
        }
    }

    private void setTag(String tag, @Nullable String digest) {
        if (digest == null) {
            tags.remove(tag);
            deletedTags.add(tag);
        } else {
            tags.put(tag, digest);
            deletedTags.remove(tag);
        }
    }

    private @Nullable String tagNow(Http http, String tag) throws IOException, InterruptedException {
        HttpResponse<byte[]> r = http.send("GET", "/v2/" + repo + "/manifests/" + tag, null, "Accept", OCI_MANIFEST);
        stats.reads.incrementAndGet();
        if (r.statusCode() == 404) {
            return null;
        }
        expect(r, 200, "tag GET");
        String digest = sha256(r.body());
        if (!manifests.containsKey(digest)) {
            stats.problem(repo + ":" + tag + " serves " + digest + ", a manifest never pushed here");
        }
        return digest;
    }

    private void resume(Http http, Pending u) throws IOException, InterruptedException {
        stats.uploadsInterrupted.incrementAndGet();
        upload = null;
        if (readBlob(http, u.digest(), "blob of an interrupted upload") == 200) {
            stats.uploadsCommittedBeforeKill.incrementAndGet();
            acknowledgeBlob(u.digest(), new Blob(u.content().length, u.startedNanos()));
            return;
        }
        HttpResponse<byte[]> status = http.send("GET", u.path(), null);
        if (status.statusCode() == 404) {
            // A kill between the commit's move of the data into the store and its link leaves no upload and no blob
            // in the repository, as registry:2's commit does: the client pushes again. Before the commit, nothing may.
            if (u.committing()) {
                stats.uploadsCommitCut.incrementAndGet();
            } else {
                stats.uploadsGone.incrementAndGet();
                stats.problem(repo + ": upload " + u.path() + " (" + u.acked() + " bytes acknowledged, no PUT sent) vanished at the restart");
            }
            return;
        }
        expect(status, 204, "upload status GET");
        String range = status.headers().firstValue("Range").orElse("");
        long have = range.isEmpty() ? 0 : Long.parseLong(range.substring(range.indexOf('-') + 1)) + 1;
        if (have < u.acked() || have > u.content().length) {
            stats.problem(repo + ": interrupted upload holds " + have + " bytes, " + u.acked() + " were acknowledged of " + u.content().length);
            return;
        }
        String path = status.headers().firstValue("Location").map(CrashWorker::pathOf).orElse(u.path());
        if (range.equals("0-0") && u.acked() == 0) {
            // registry:2's Range for an empty upload is 0-0 too: one byte or none. A PATCH from 1 tells them apart.
            HttpResponse<byte[]> probe = http.send("PATCH", path, java.util.Arrays.copyOfRange(u.content(), 1, u.content().length),
                    "Content-Range", "1-" + (u.content().length - 1));
            if (probe.statusCode() == 416) {
                have = 0;
            } else {
                expect(probe, 202, "PATCH after 0-0");
                have = u.content().length;
                path = location(probe);
            }
        }
        upload = u.at(path, have);
        patchFrom(http, have);
        upload = upload.putSent();
        inFlight = new BlobPush(u.digest(), u.content().length, u.startedNanos());
        HttpResponse<byte[]> put = http.send("PUT", withDigest(upload.path(), u.digest()), null);
        if (put.statusCode() != 201) {
            stats.problem(repo + ": the resumed upload's PUT answered " + put.statusCode() + " " + new String(put.body(), StandardCharsets.UTF_8));
            inFlight = null;
            upload = null;
            return;
        }
        stats.uploadsResumed.incrementAndGet();
        acknowledgeBlob(u.digest(), new Blob(u.content().length, u.startedNanos()));
    }

    /** Checks what was acknowledged: this round's writes, or with {@code all} everything; and every tag, always. */
    void check(Http http, boolean all) throws IOException, InterruptedException {
        Set<String> referenced = referencedBlobs();
        for (String digest : List.copyOf(all ? blobs.keySet() : uncheckedBlobs)) {
            long asked = System.nanoTime();
            if (readBlob(http, digest, "acknowledged blob") == 200) {
                continue;
            }
            if (!referenced.contains(digest) && mayBeCollected(blobs.get(digest).sentNanos(), asked)) {
                stats.blobsCollected.incrementAndGet();
                blobs.remove(digest);
            } else {
                stats.problem(repo + ": acknowledged blob " + digest + " is gone"
                        + (referenced.contains(digest) ? ", and a manifest refers to it" : " within the grace period"));
            }
        }
        uncheckedBlobs.clear();
        for (String digest : all ? manifests.keySet() : uncheckedManifests) {
            if (readManifest(http, "/manifests/" + digest, digest, "acknowledged manifest") != 200) {
                stats.problem(repo + ": acknowledged manifest " + digest + " is gone");
                continue;
            }
            for (String b : manifests.get(digest).blobs()) {
                if (readBlob(http, b, "blob of " + digest) != 200) {
                    stats.problem(repo + ": manifest " + digest + " refers to " + b + ", which is gone");
                }
            }
        }
        uncheckedManifests.clear();
        for (Map.Entry<String, String> t : tags.entrySet()) {
            if (readManifest(http, "/manifests/" + t.getKey(), t.getValue(), "tag " + t.getKey()) != 200) {
                stats.problem(repo + ":" + t.getKey() + " (acknowledged as " + t.getValue() + ") is gone");
            }
        }
        for (String t : deletedTags) {
            expectGone(http, "/manifests/" + t, "deleted tag");
        }
        for (String d : all ? deletedManifests : Set.<String>of()) {
            expectGone(http, "/manifests/" + d, "deleted manifest");
        }
        HttpResponse<byte[]> list = http.send("GET", "/v2/" + repo + "/tags/list", null);
        stats.checks.incrementAndGet();
        Set<String> listed = new HashSet<>();
        if (list.statusCode() == 200) {
            for (var node : CrashIT.JSON.readTree(list.body()).path("tags")) {
                listed.add(node.asText());
            }
        } else if (list.statusCode() != 404) {
            stats.problem(repo + ": tags/list answered " + list.statusCode());
        }
        if (!listed.equals(tags.keySet())) {
            StringBuilder why = new StringBuilder();
            for (String t : listed) {
                if (!tags.containsKey(t)) {
                    HttpResponse<byte[]> r = http.send("GET", "/v2/" + repo + "/manifests/" + t, null, "Accept", OCI_MANIFEST);
                    why.append("; GET ").append(t).append(" answers ").append(r.statusCode());
                }
            }
            stats.problem(repo + ": tags/list is " + listed + " but the tags are " + tags.keySet() + why);
        }
    }

    private void expectGone(Http http, String path, String what) throws IOException, InterruptedException {
        HttpResponse<byte[]> r = http.send("GET", "/v2/" + repo + path, null, "Accept", OCI_MANIFEST);
        stats.checks.incrementAndGet();
        if (r.statusCode() != 404) {
            stats.problem(repo + ": " + what + " " + path + " answers " + r.statusCode() + " after its delete was acknowledged");
        }
    }

    /** GETs a manifest; a 200 must carry exactly the bytes of {@code digest}. Returns the status. */
    private int readManifest(Http http, String path, String digest, String what) throws IOException, InterruptedException {
        HttpResponse<byte[]> r = http.send("GET", "/v2/" + repo + path, null, "Accept", OCI_MANIFEST);
        stats.reads.incrementAndGet();
        stats.checks.incrementAndGet();
        if (r.statusCode() == 200) {
            stats.readBytes.addAndGet(r.body().length);
            String actual = sha256(r.body());
            if (!actual.equals(digest)) {
                stats.corruptReads.incrementAndGet();
                stats.problem(repo + ": " + what + " " + path + " served content hashing to " + actual + ", not " + digest);
            }
        } else if (r.statusCode() != 404) {
            stats.problem(repo + ": " + what + " " + path + " answered " + r.statusCode());
        }
        return r.statusCode();
    }

    /** GETs a blob as a stream; a 200 must hash to {@code digest}. Returns the status. */
    private int readBlob(Http http, String digest, String what) throws IOException, InterruptedException {
        HttpResponse<InputStream> r = http.client.send(http.request("GET", "/v2/" + repo + "/blobs/" + digest, null).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        stats.reads.incrementAndGet();
        stats.checks.incrementAndGet();
        MessageDigest md = newSha256();
        long n = 0;
        try (InputStream in = r.body()) {
            byte[] buf = new byte[1 << 16];
            for (int k; (k = in.read(buf)) > 0; n += k) {
                md.update(buf, 0, k);
            }
        }
        if (r.statusCode() == 200) {
            stats.readBytes.addAndGet(n);
            String actual = "sha256:" + HexFormat.of().formatHex(md.digest());
            if (!actual.equals(digest)) {
                stats.corruptReads.incrementAndGet();
                stats.problem(repo + ": " + what + " " + digest + " served " + n + " bytes hashing to " + actual);
            }
        } else if (r.statusCode() != 404) {
            stats.problem(repo + ": " + what + " " + digest + " answered " + r.statusCode());
        }
        return r.statusCode();
    }

    // ---------------------------------------------------------------- helpers

    /** The blobs the manifests this worker holds refer to: the online collector must keep them. */
    private Set<String> referencedBlobs() {
        Set<String> referenced = new HashSet<>();
        manifests.values().forEach(m -> referenced.addAll(m.blobs()));
        return referenced;
    }

    /** Whether a blob first sent at {@code sentNanos} may be collected by {@code atNanos}: it is past the grace period. */
    private static boolean mayBeCollected(long sentNanos, long atNanos) {
        return atNanos - sentNanos >= GC_GRACE.toNanos() - FILE_TIME_SLACK_NANOS;
    }

    private <T> T anyOf(Set<T> set) {
        int i = rng.nextInt(set.size());
        for (T t : set) {
            if (i-- == 0) {
                return t;
            }
        }
        throw new IllegalStateException();
    }

    private HttpResponse<byte[]> expect(HttpResponse<byte[]> r, int status, String what) throws IOException {
        if (r.statusCode() != status) {
            stats.problem(repo + ": " + what + " " + r.request().uri().getPath() + " answered " + r.statusCode() + ": "
                    + new String(r.body(), StandardCharsets.UTF_8));
            throw new IOException("unexpected status; this worker stops for the round");
        }
        return r;
    }

    private static String location(HttpResponse<byte[]> r) {
        return pathOf(r.headers().firstValue("Location").orElseThrow(() -> new AssertionError("no Location in " + r)));
    }

    /** A Location's path and query, without the address: the port changes at every restart. */
    static String pathOf(String location) {
        URI u = URI.create(location);
        return u.getRawPath() + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
    }

    private static String withDigest(String path, String digest) {
        return path + (path.contains("?") ? "&" : "?") + "digest=" + digest;
    }

    private static String descriptor(String mediaType, String digest, long size) {
        return "{\"mediaType\":\"" + mediaType + "\",\"digest\":\"" + digest + "\",\"size\":" + size + "}";
    }

    static String sha256(byte[] content) {
        return "sha256:" + HexFormat.of().formatHex(newSha256().digest(content));
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** HTTP/1.1 to one Berth process. */
    static final class Http implements AutoCloseable {
        final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        private final String base;

        Http(int port) {
            this.base = "http://127.0.0.1:" + port;
        }

        HttpRequest.Builder request(String method, String path, byte @Nullable [] body, String... headers) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
            if (body != null) {
                b.header("Content-Type", "application/octet-stream");
            }
            for (int i = 0; i < headers.length; i += 2) {
                b.setHeader(headers[i], headers[i + 1]);
            }
            return b;
        }

        HttpResponse<byte[]> send(String method, String path, byte @Nullable [] body, String... headers) throws IOException, InterruptedException {
            return client.send(request(method, path, body, headers).build(), HttpResponse.BodyHandlers.ofByteArray());
        }

        @Override
        public void close() {
            client.shutdownNow();
        }
    }
}
