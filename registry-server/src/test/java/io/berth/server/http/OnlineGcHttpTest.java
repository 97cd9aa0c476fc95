package io.berth.server.http;

import static io.berth.server.http.HttpFixture.CONFIG_TYPE;
import static io.berth.server.http.HttpFixture.JSON;
import static io.berth.server.http.HttpFixture.LAYER_TYPE;
import static io.berth.server.http.HttpFixture.OCI_MANIFEST;
import static io.berth.server.http.HttpFixture.descriptor;
import static io.berth.server.http.HttpFixture.utf8;
import static io.berth.testing.RegistryClient.sha256;
import static io.berth.testing.RegistryClient.text;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.server.Berth;
import io.berth.storage.RegistryStorage;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients push and pull through a real Berth while garbage collections run over and over on the same volume through
 * another storage instance, which shares no lock nor cache with the server: as {@code berth garbage-collect} from
 * another process would. Every manifest the server acknowledged must stay pullable, blob for blob.
 */
class OnlineGcHttpTest {
    private static final int CLIENTS = 4;
    private static final int PUSHES_PER_CLIENT = 20;
    private static final Duration GRACE = Duration.ofMillis(300);
    private static final List<String> REPOS = List.of("gc/one", "gc/two", "gc/three");

    @TempDir
    Path root;

    private record Acknowledged(String repo, String digest, Map<String, byte[]> blobs) {}

    @Test
    void pushesAndPullsDuringRepeatedCollectionsFromAnotherStorageInstanceNeverLoseAnAcknowledgedBlob() throws Exception {
        Berth berth = Berth.builder().storageDirectory(root).port(0).build();
        berth.start();
        try (HttpFixture http = HttpFixture.attach(berth)) {
            List<byte[]> old = new CopyOnWriteArrayList<>();
            for (int i = 0; i < 30; i++) {
                byte[] content = utf8("old layer " + i);
                http.pushBlob(REPOS.get(i % REPOS.size()), content);
                old.add(content);
            }
            ageEverything(); // old, unreferenced: garbage that clients also push again
            RegistryStorage collector = RegistryStorage.open(root);
            List<Acknowledged> acknowledged = new CopyOnWriteArrayList<>();
            AtomicInteger refused = new AtomicInteger();
            AtomicInteger pulls = new AtomicInteger();
            AtomicBoolean pushing = new AtomicBoolean(true);
            AtomicLong collected = new AtomicLong();
            AtomicInteger collections = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(CLIENTS + 1);
            try {
                Future<?> gc = pool.submit(() -> {
                    while (pushing.get()) {
                        collected.addAndGet(collector.collectGarbage(false, false, GRACE).blobsDeleted());
                        collections.incrementAndGet();
                    }
                    return null;
                });
                List<Future<?>> clients = new ArrayList<>();
                for (int c = 0; c < CLIENTS; c++) {
                    int client = c;
                    clients.add(pool.submit(() -> {
                        Random random = new Random(client);
                        for (int i = 0; i < PUSHES_PER_CLIENT; i++) {
                            String repo = REPOS.get(random.nextInt(REPOS.size()));
                            Map<String, byte[]> blobs = new LinkedHashMap<>();
                            byte[] config = utf8("{\"client\":" + client + ",\"push\":" + i + "}");
                            blobs.put(http.pushBlob(repo, config), config);
                            byte[] reused = old.get(random.nextInt(old.size()));
                            blobs.put(pushAgain(http, repo, reused, random.nextBoolean()), reused);
                            byte[] fresh = utf8("layer of client " + client + " push " + i);
                            blobs.put(http.pushBlob(repo, fresh), fresh);
                            HttpResponse<byte[]> put = http.send("PUT", "/v2/" + repo + "/manifests/t" + random.nextInt(3),
                                    manifest(blobs), "Content-Type", OCI_MANIFEST);
                            if (put.statusCode() == 201) {
                                acknowledged.add(new Acknowledged(repo, put.headers().firstValue("Docker-Content-Digest").orElseThrow(), blobs));
                            } else {
                                HttpFixture.assertError(put, 400, "MANIFEST_BLOB_UNKNOWN");
                                refused.incrementAndGet();
                            }
                            if (!acknowledged.isEmpty()) {
                                assertPullable(http, acknowledged.get(random.nextInt(acknowledged.size())), null);
                                pulls.incrementAndGet();
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : clients) {
                    f.get(5, TimeUnit.MINUTES);
                }
                pushing.set(false);
                gc.get(5, TimeUnit.MINUTES);
            } finally {
                pushing.set(false);
                pool.shutdownNow();
            }
            collected.addAndGet(collector.collectGarbage(false, false, Duration.ZERO).blobsDeleted());

            assertThat(collections.get()).as("collections during the pushes").isGreaterThan(1);
            assertThat(collected.get()).as("garbage collected").isPositive();
            SoftAssertions softly = new SoftAssertions();
            for (Acknowledged a : acknowledged) {
                assertPullable(http, a, softly);
            }
            softly.assertAll();
            assertThat(acknowledged.size()).as("acknowledged pushes (%d refused cleanly, %d pulls)", refused.get(), pulls.get())
                    .isGreaterThan(CLIENTS * PUSHES_PER_CLIENT / 4);
        }
    }

    /** Pushes content already stored: by trusting a HEAD, or by uploading it again. */
    private static String pushAgain(HttpFixture http, String repo, byte[] content, boolean trustHead) {
        String digest = sha256(content);
        if (trustHead && http.head("/v2/" + repo + "/blobs/" + digest).statusCode() == 200) {
            return digest;
        }
        return http.pushBlob(repo, content);
    }

    private static void assertPullable(HttpFixture http, Acknowledged a, @Nullable SoftAssertions softly) {
        SoftAssertions s = softly == null ? new SoftAssertions() : softly;
        HttpResponse<byte[]> m = http.get("/v2/" + a.repo() + "/manifests/" + a.digest(), "Accept", OCI_MANIFEST);
        s.assertThat(m.statusCode()).as("GET %s@%s: %s", a.repo(), a.digest(), text(m)).isEqualTo(200);
        for (Map.Entry<String, byte[]> blob : a.blobs().entrySet()) {
            HttpResponse<byte[]> b = http.get("/v2/" + a.repo() + "/blobs/" + blob.getKey());
            s.assertThat(b.statusCode()).as("GET blob %s of %s@%s: %s", blob.getKey(), a.repo(), a.digest(), text(b)).isEqualTo(200);
            s.assertThat(sha256(b.body())).as("blob %s of %s@%s", blob.getKey(), a.repo(), a.digest()).isEqualTo(blob.getKey());
        }
        if (softly == null) {
            s.assertAll();
        }
    }

    private static byte[] manifest(Map<String, byte[]> blobs) {
        List<Map.Entry<String, byte[]>> list = new ArrayList<>(blobs.entrySet());
        ObjectNode m = JSON.createObjectNode();
        m.put("schemaVersion", 2);
        m.put("mediaType", OCI_MANIFEST);
        m.set("config", descriptor(CONFIG_TYPE, list.get(0).getKey(), list.get(0).getValue().length));
        for (Map.Entry<String, byte[]> layer : list.subList(1, list.size())) {
            m.withArray("layers").add(descriptor(LAYER_TYPE, layer.getKey(), layer.getValue().length));
        }
        return HttpFixture.bytes(m);
    }

    /** Makes every blob and link under the storage two days old. */
    private void ageEverything() throws IOException {
        FileTime twoDaysAgo = FileTime.from(Instant.now().minus(Duration.ofDays(2)));
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.getFileName().toString().equals("data") || p.getFileName().toString().equals("link")).toList()) {
                Files.setLastModifiedTime(f, twoDaysAgo);
            }
        }
    }
}
