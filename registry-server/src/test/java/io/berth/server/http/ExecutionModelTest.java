package io.berth.server.http;

import static io.berth.server.http.HttpFixture.read;
import static io.berth.server.http.HttpFixture.write;
import static io.berth.testing.RegistryClient.sha256;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11's execution model against a real Berth: a request that blocks holds up its own connection only, and the
 * shared in-flight budget slows uploads down without stalling any of them for good.
 */
class ExecutionModelTest {
    @TempDir
    Path dir;

    /**
     * A blob whose data file is a FIFO makes each GET of it block in {@code open} until a writer appears: a request
     * stuck on the disk. Before, connections were pinned to 16 shared executors (on 2 cores), so 40 such requests
     * blocked every executor and a plain {@code GET /v2/} on a new connection was never answered.
     */
    @Test
    void requestsBlockedOnTheDiskHoldUpOnlyTheirOwnConnections() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "")) {
            String digest = http.pushBlob("stuck/app", "about to become a fifo".getBytes());
            Path data = http.blobData(digest);
            Files.delete(data);
            Process mkfifo = new ProcessBuilder("mkfifo", data.toString()).inheritIO().start();
            assertThat(mkfifo.waitFor()).isZero();

            List<Socket> stuck = new ArrayList<>();
            try {
                for (int i = 0; i < 40; i++) {
                    Socket s = http.socket();
                    stuck.add(s);
                    write(s, "GET /v2/stuck/app/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\n\r\n");
                }
                // Each blocked GET is being handled on a thread of its own; the old model handled 16 and queued the rest.
                HttpFixture.awaitTrue("all 40 blocked GETs are being handled", () -> http.gauge("berth.http.requests.active") >= 40);

                // The HTTP client's own 30 s timeout is the bound: the old model never answered.
                assertThat(http.get("/v2/").statusCode()).isEqualTo(200);
                assertThat(http.pushBlob("other/app", "still serving".getBytes())).isEqualTo(sha256("still serving".getBytes()));
                // Nothing waits now, so the pool goes back to its few threads; the 40 blocked ones stay in it, and the
                // next request must still get a thread of its own.
                Thread.sleep(1_500);
                assertThat(http.pushBlob("other/app", "and still".getBytes())).isEqualTo(sha256("and still".getBytes()));
            } finally {
                // A writer that opens and closes the FIFO releases every reader blocked in open: they read an empty file.
                try (OutputStream unblock = Files.newOutputStream(data)) {
                    unblock.flush();
                }
                for (Socket s : stuck) {
                    s.close();
                }
            }
        }
    }

    /**
     * 16 uploads of 4 MiB at once, each streamed as fast as the socket takes it, against a budget of 1 MiB in flight
     * over all connections: every one completes with the right digest, and the bytes in flight never pass the budget
     * by more than one socket read per connection. A connection that waits for the budget is woken when another's
     * bytes are handled; a lost wake-up would leave an upload stalled until the client gives up.
     */
    @Test
    void uploadsMuchLargerThanTheSharedBudgetAllComplete() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "berth:\n  limits:\n    inFlightBytes: 1048576\n")) {
            ExecutorService clients = Executors.newFixedThreadPool(17);
            java.util.concurrent.atomic.AtomicBoolean pushing = new java.util.concurrent.atomic.AtomicBoolean(true);
            Future<Double> most = clients.submit(() -> {
                double max = 0;
                while (pushing.get()) {
                    max = Math.max(max, http.gauge("berth.http.inflight.bytes"));
                    Thread.onSpinWait();
                }
                return max;
            });
            try {
                List<Future<HttpResponse<byte[]>>> pushes = new ArrayList<>();
                List<String> digests = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    byte[] content = new byte[4 << 20];
                    new Random(i).nextBytes(content);
                    String digest = sha256(content);
                    digests.add(digest);
                    pushes.add(clients.submit(() -> http.send("POST", "/v2/budget/app/blobs/uploads/?digest=" + digest, content,
                            "Content-Type", "application/octet-stream")));
                }
                for (int i = 0; i < pushes.size(); i++) {
                    assertThat(pushes.get(i).get(60, TimeUnit.SECONDS).statusCode()).as("push %d", i).isEqualTo(201);
                }
                pushing.set(false);
                // One socket read is at most 16 buffers of 64 KiB; a connection under ReadAhead.FREE reads regardless.
                assertThat(most.get()).isLessThanOrEqualTo((1 << 20) + 16 * (ReadAhead.FREE + (1 << 20)));
                for (int i = 0; i < digests.size(); i++) {
                    assertThat(sha256(http.get("/v2/budget/app/blobs/" + digests.get(i)).body())).isEqualTo(digests.get(i));
                }
            } finally {
                pushing.set(false);
                clients.shutdownNow();
            }
            assertThat((long) http.gauge("berth.http.inflight.bytes")).as("every byte read was given back").isZero();
        }
    }

    /** A client that pipelines requests and hangs up leaves nothing charged to the shared budget. */
    @Test
    void aConnectionThatClosesGivesItsUnhandledBytesBack() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "")) {
            try (Socket s = http.socket()) {
                write(s, "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n".repeat(50));
                assertThat(read(s).status()).isEqualTo(200);
            }
            HttpFixture.awaitTrue("the closed connection's bytes are given back", () -> http.gauge("berth.http.inflight.bytes") == 0);
        }
    }
}
