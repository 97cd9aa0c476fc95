package io.berth.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.HtpasswdFiles;
import io.berth.testing.RegistryClient;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's attacks, as an attacker runs them, against Berth in its own process with the StatefulSet's JVM options
 * (heap from the 1 GiB limit, {@code -XX:+ExitOnOutOfMemoryError}): none may crash it, lock out a correct login, or
 * stop a normal client from being served. A probe client on another loopback address measures {@code GET /v2/}
 * during each attack; the latencies go to {@code target/hostile-latency.md} (reported, never asserted: timing is for
 * benchmarks). Each attack here crashed Berth or refused the probe's logins before the fix.
 */
@Tag("hostile")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileIT {
    private static final Map<String, String> PASSWORDS = Map.of("ci", "ci-secret", "cluster", "cluster-secret", "admin", "admin-secret");
    private static final List<String> REPORT = new ArrayList<>();

    @TempDir
    Path work;

    /** A fresh Berth for each attack, so that each is seen on its own. */
    private static HostileBerth berth;

    @BeforeAll
    static void header() {
        REPORT.add("| attack | probe GET /v2/ during it | Berth after it |");
        REPORT.add("|---|---|---|");
    }

    @BeforeEach
    void start() throws Exception {
        HtpasswdFiles.write(work.resolve("htpasswd"), PASSWORDS);
        berth = HostileBerth.start(work, """
                auth:
                  htpasswd:
                    realm: berth
                    path: %s
                """.formatted(work.resolve("htpasswd")));
    }

    @AfterEach
    void stop() {
        boolean alive = berth.isAlive();
        String log = berth.logTail();
        berth.close();
        assertThat(alive).as("Berth survived:\n" + log).isTrue();
    }

    @Test
    @Order(0)
    void baseline() throws Exception {
        measure("none (baseline, 3 s)", () -> Thread.sleep(3000));
    }

    @AfterAll
    static void report() throws IOException {
        Path report = Path.of("target", "hostile-latency.md");
        Files.createDirectories(report.getParent());
        Files.write(report, REPORT);
        System.out.println("Normal client latency during each attack (HostileIT):\n" + String.join("\n", REPORT));
    }

    private interface Attack {
        void run() throws Exception;
    }

    /** Runs {@code attack} while the probe measures; records the line; fails if the probe was ever refused. */
    private static void measure(String name, Attack attack) throws Exception {
        HostileBerth.Summary seen;
        try (HostileBerth.Probe probe = berth.new Probe(as("cluster"))) {
            attack.run();
            seen = probe.stop();
        }
        REPORT.add("| " + name + " | " + seen + " | " + (berth.isAlive() ? "alive, RSS " + berth.rssMib() + " MiB, "
                + berth.openFiles() + " open files" : "DEAD") + " |");
        assertThat(berth.isAlive()).as("Berth survived " + name + ":\n" + berth.logTail()).isTrue();
        assertThat(seen.failures()).as("the probe was served throughout " + name).isEmpty();
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static String[] as(String user) {
        return new String[] {"Authorization", basic(user, PASSWORDS.get(user))};
    }

    private static Socket attackerSocket() throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(HostileBerth.ATTACKER, 0));
        s.connect(new InetSocketAddress("127.0.0.1", berth.port), 5000);
        s.setSoTimeout(15_000);
        return s;
    }

    private static void closeAll(List<Socket> sockets) {
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException e) {
                // already gone
            }
        }
    }

    @Test
    @Order(1)
    void randomMethodsNeitherExhaustTheHeapNorGrowTheMetrics() throws Exception {
        Random random = new Random(13);
        measure("1,000 requests with random 15,000-character methods, then a scrape", () -> {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int i = 0; i < 1000; i++) {
                    StringBuilder method = new StringBuilder(15_000);
                    for (int c = 0; c < 15_000; c++) {
                        method.append((char) ('A' + random.nextInt(26)));
                    }
                    String line = method + " /v2/";
                    done.add(pool.submit(() -> HostileBerth.request(HostileBerth.ATTACKER, berth.port, line, new String[0], new byte[0],
                            Duration.ofSeconds(30))));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            String metrics = berth.scrape();
            assertThat(metrics.length()).as("one label per known method, not one per request").isLessThan(1 << 20);
            assertThat(metrics).contains("method=\"other\"");
        });
    }

    @Test
    @Order(2)
    void badLoginsFromASharedAddressLockNoAccountOut() throws Exception {
        Random random = new Random(2);
        measure("11 bad logins for random users, then a bad one every 0.5 s among 12 right ones, all from one address", () -> {
            for (int i = 0; i < 11; i++) {
                int status = berth.get(HostileBerth.ATTACKER, "/v2/", Duration.ofSeconds(10), "Authorization",
                        basic("user" + random.nextInt(1_000_000), "guess")).statusCode();
                assertThat(status).isIn(401, 429);
            }
            // Behind an Ingress without trusted proxies, every client has the attacker's address.
            for (String user : List.of("cluster", "admin")) {
                assertThat(berth.get(HostileBerth.ATTACKER, "/v2/", Duration.ofSeconds(10), as(user)).statusCode())
                        .as(user + " with the right password").isEqualTo(200);
            }
            for (int i = 0; i < 12; i++) {
                berth.get(HostileBerth.ATTACKER, "/v2/", Duration.ofSeconds(10), "Authorization", basic("user" + random.nextInt(1_000_000), "guess"));
                assertThat(berth.get(HostileBerth.ATTACKER, "/v2/", Duration.ofSeconds(10), as(i % 2 == 0 ? "cluster" : "ci")).statusCode())
                        .as("legitimate login " + i).isEqualTo(200);
                Thread.sleep(500);
            }
        });
    }

    @Test
    @Order(3)
    void slowManifestBodiesCannotExhaustTheHeap() throws Exception {
        AtomicInteger refused = new AtomicInteger();
        List<Socket> slow = new ArrayList<>();
        byte[] body = new byte[(4 << 20) - 1];
        body[0] = '{';
        java.util.Arrays.fill(body, 1, body.length, (byte) ' ');
        try {
            measure("150 connections each sending a 4 MiB manifest body and stalling before its last byte", () -> {
                for (int i = 0; i < 150; i++) {
                    Socket s = attackerSocket();
                    slow.add(s);
                    try {
                        OutputStream out = s.getOutputStream();
                        out.write(("PUT /v2/hostile/app/manifests/t" + i + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic("ci", "ci-secret")
                                + "\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: " + (4 << 20) + "\r\n\r\n")
                                .getBytes(StandardCharsets.ISO_8859_1));
                        out.write(body);
                        out.flush();
                    } catch (IOException e) {
                        refused.incrementAndGet(); // answered and closed while we were still sending
                        s.close();
                    }
                }
                Thread.sleep(2000);
                for (Socket s : slow) {
                    if (!s.isClosed() && answered429(s)) {
                        refused.incrementAndGet();
                    }
                }
            });
        } finally {
            closeAll(slow);
        }
        REPORT.add("| (slow manifests: " + refused.get() + " of 150 refused while sending) | | |");
        assertThat(refused.get()).as("past the body budget, requests are refused, not buffered").isPositive();
    }

    /** Whether the server has answered on {@code s} with a 429 (looked for briefly; a request still in flight has no answer). */
    private static boolean answered429(Socket s) {
        try {
            s.setSoTimeout(200);
            byte[] status = s.getInputStream().readNBytes(12);
            return new String(status, StandardCharsets.ISO_8859_1).equals("HTTP/1.1 429");
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    @Order(4)
    void pipelinedBlobGetsThatAreNeverReadHoldFewFiles() throws Exception {
        byte[] blob = new byte[1 << 20];
        new Random(4).nextBytes(blob);
        String digest = RegistryClient.sha256(blob);
        HostileBerth.HttpResult pushed = HostileBerth.request(HostileBerth.PROBE, berth.port,
                "POST /v2/hostile/app/blobs/uploads/?digest=" + digest, as("ci"), blob, Duration.ofSeconds(30));
        assertThat(pushed.statusCode()).isEqualTo(201);
        long before = berth.openFiles();
        List<Socket> stalled = new ArrayList<>();
        long[] during = {0};
        try {
            measure("20 connections each pipelining 128 blob GETs and never reading", () -> {
                String one = "GET /v2/hostile/app/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic("cluster", "cluster-secret") + "\r\n\r\n";
                byte[] requests = one.repeat(128).getBytes(StandardCharsets.ISO_8859_1);
                for (int i = 0; i < 20; i++) {
                    Socket s = attackerSocket();
                    s.setReceiveBufferSize(4096);
                    stalled.add(s);
                    s.getOutputStream().write(requests);
                    s.getOutputStream().flush();
                }
                Thread.sleep(3000);
                during[0] = berth.openFiles();
                // Pushes from another client go on meanwhile.
                byte[] other = "meanwhile".getBytes(StandardCharsets.UTF_8);
                String d = RegistryClient.sha256(other);
                assertThat(HostileBerth.request(HostileBerth.PROBE, berth.port, "POST /v2/hostile/other/blobs/uploads/?digest=" + d, as("ci"),
                        other, Duration.ofSeconds(30)).statusCode()).isEqualTo(201);
            });
        } finally {
            closeAll(stalled);
        }
        REPORT.add("| (pipelined GETs: Berth's open files " + before + " before, " + during[0] + " during) | | |");
        assertThat(during[0] - before).as("at most one blob file per connection (20), plus the connections themselves").isLessThan(100);
    }

    @Test
    @Order(5)
    void thousandsOfSlowConnectionsAreCapped() throws Exception {
        List<Socket> slow = new ArrayList<>();
        int[] kept = {0};
        try {
            measure("2,000 connections each sending half a request head", () -> {
                for (int i = 0; i < 2000; i++) {
                    try {
                        Socket s = attackerSocket();
                        slow.add(s);
                        s.getOutputStream().write("GET /v2/ HTTP/1.1\r\nHo".getBytes(StandardCharsets.ISO_8859_1));
                    } catch (IOException e) {
                        // refused at once
                    }
                }
                Thread.sleep(2000);
                for (Socket s : slow) {
                    s.setSoTimeout(1);
                    try {
                        if (s.getInputStream().read() >= 0) {
                            kept[0]++;
                        }
                    } catch (java.net.SocketTimeoutException e) {
                        kept[0]++; // still open
                    } catch (IOException e) {
                        // closed
                    }
                }
            });
        } finally {
            closeAll(slow);
        }
        REPORT.add("| (slow connections: " + kept[0] + " of 2,000 kept open by Berth) | | |");
        assertThat(kept[0]).as("berth.limits.maxConnectionsPerClient (200) holds").isLessThanOrEqualTo(200);
    }

    @Test
    @Order(6)
    void abandonedUploadsAreCapped() throws Exception {
        int[] refused = {0};
        String[] detail = {""};
        measure("300 uploads opened and left", () -> {
            for (int i = 0; i < 300; i++) {
                HostileBerth.HttpResult r = HostileBerth.request(HostileBerth.ATTACKER, berth.port, "POST /v2/hostile/uploads/blobs/uploads/",
                        as("ci"), new byte[0], Duration.ofSeconds(30));
                if (r.statusCode() == 429) {
                    refused[0]++;
                    detail[0] = r.body();
                } else {
                    assertThat(r.statusCode()).isEqualTo(202);
                }
            }
        });
        REPORT.add("| (uploads: " + refused[0] + " of 300 refused) | | |");
        assertThat(refused[0]).as("berth.uploads.maxOpen (256)").isEqualTo(300 - 256);
        assertThat(detail[0]).contains("TOOMANYREQUESTS").contains("berth.uploads.maxOpen");
    }
}
