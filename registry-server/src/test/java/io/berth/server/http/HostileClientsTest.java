package io.berth.server.http;

import static io.berth.server.http.HttpFixture.assertError;
import static io.berth.server.http.HttpFixture.awaitTrue;
import static io.berth.server.http.HttpFixture.closedByServer;
import static io.berth.server.http.HttpFixture.read;
import static io.berth.server.http.HttpFixture.write;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.HtpasswdFiles;
import io.berth.testing.RegistryClient;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's denial-of-service holes, each against a real Berth with small limits: every test here failed on the
 * code before the fix (the limits did not exist, or the hole was open). Tagged {@code hostile}.
 */
@Tag("hostile")
class HostileClientsTest {
    @TempDir
    Path dir;

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** Open files of this JVM (the embedded Berth) that are {@code file}. */
    private static long openFilesOf(Path file) throws IOException {
        Path target = file.toRealPath();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(target);
                } catch (IOException e) {
                    return false; // closed meanwhile
                }
            }).count();
        }
    }

    // ---- item 8: the Host header

    @Test
    void missingDuplicatedOrMalformedHostHeadersAre400() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "")) {
            for (String head : List.of(
                    "GET /v2/ HTTP/1.1\r\n\r\n",
                    "GET /v2/ HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
                    "GET /v2/ HTTP/1.1\r\nHost: evil.example/x?\r\n\r\n",
                    "GET /v2/ HTTP/1.1\r\nHost: a b\r\n\r\n",
                    "GET /v2/ HTTP/1.1\r\nHost: [not-ipv6]:5000\r\n\r\n",
                    "GET /v2/ HTTP/1.1\r\nHost: host:port\r\n\r\n")) {
                try (Socket s = http.socket()) {
                    write(s, head);
                    HttpFixture.RawResponse r = read(s);
                    assertThat(r.status()).as(head).isEqualTo(400);
                    assertThat(HttpFixture.json(r.body()).path("errors").get(0).path("detail").asText()).contains("Host");
                }
            }
            for (String host : List.of("registry.example:5000", "127.0.0.1", "[::1]:5000", "xn--bcher-kva.example")) {
                try (Socket s = http.socket()) {
                    write(s, "GET /v2/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
                    assertThat(read(s).status()).as(host).isEqualTo(200);
                }
            }
            try (Socket s = http.socket()) {
                write(s, "GET /v2/ HTTP/1.0\r\n\r\n");
                assertThat(read(s).status()).as("HTTP/1.0 needs no Host").isEqualTo(200);
            }
        }
    }

    @Test
    void configuredHostIsUsedForLocationWhateverTheRequestSays() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "  host: https://registry.example\n")) {
            try (Socket s = http.socket()) {
                write(s, "POST /v2/team/app/blobs/uploads/ HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Proto: javascript\r\n"
                        + "Content-Length: 0\r\n\r\n");
                HttpFixture.RawResponse r = read(s);
                assertThat(r.status()).isEqualTo(202);
                assertThat(r.header("Location")).startsWith("https://registry.example/v2/team/app/blobs/uploads/");
            }
        }
    }

    @Test
    void forwardedProtoIsOnlyHttpOrHttps() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "")) {
            try (Socket s = http.socket()) {
                write(s, "POST /v2/team/app/blobs/uploads/ HTTP/1.1\r\nHost: registry.example\r\nX-Forwarded-Proto: javascript\r\n"
                        + "Content-Length: 0\r\n\r\n");
                assertThat(read(s).header("Location")).startsWith("http://registry.example/v2/");
            }
        }
    }

    // ---- item 4: pipelining, open files and the write timeout

    @Test
    void pipelinedBlobGetsFromAClientThatNeverReadsHoldOneFileAndAreDropped() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "berth:\n  limits:\n    writeTimeout: 1s\n")) {
            byte[] blob = new byte[4 << 20];
            new Random(1).nextBytes(blob);
            String digest = http.pushBlob("team/app", blob);
            Path data = http.blobData(digest);
            try (Socket s = http.socket()) {
                s.setReceiveBufferSize(4096);
                StringBuilder requests = new StringBuilder();
                for (int i = 0; i < 64; i++) {
                    requests.append("GET /v2/team/app/blobs/").append(digest).append(" HTTP/1.1\r\nHost: x\r\n\r\n");
                }
                write(s, requests.toString());
                awaitTrue("the first download has begun", () -> {
                    try {
                        return openFilesOf(data) >= 1;
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                Thread.sleep(300); // time for a server that opens every pipelined request to do so
                assertThat(openFilesOf(data)).as("one response at a time holds one file").isLessThanOrEqualTo(1);
                // Never read: the write timeout drops the connection, which closes the file.
                awaitTrue("the stalled connection was dropped and its file closed", () -> {
                    try {
                        return openFilesOf(data) == 0;
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            }
            assertThat(http.get("/v2/").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "")) {
            String digest = http.pushBlob("team/app", "hello".getBytes(StandardCharsets.UTF_8));
            try (Socket s = http.socket()) {
                write(s, "GET /v2/team/app/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\n\r\n"
                        + "GET /v2/nope/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\n\r\n"
                        + "HEAD /v2/team/app/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\n\r\n"
                        + "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
                HttpFixture.RawResponse first = read(s);
                assertThat(first.status()).isEqualTo(200);
                assertThat(new String(first.body(), StandardCharsets.UTF_8)).isEqualTo("hello");
                assertThat(read(s).status()).isEqualTo(404);
                HttpFixture.RawResponse head = readHead(s);
                assertThat(head.status()).isEqualTo(200);
                assertThat(head.header("Content-Length")).isEqualTo("5");
                assertThat(read(s).status()).isEqualTo(200);
            }
        }
    }

    /** A HEAD response: a head with a Content-Length but no body. */
    private static HttpFixture.RawResponse readHead(Socket s) throws IOException {
        StringBuilder head = new StringBuilder();
        int matched = 0;
        while (matched < 4) {
            int b = s.getInputStream().read();
            assertThat(b).isNotNegative();
            head.append((char) b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String[] lines = head.toString().split("\r\n");
        java.util.Map<String, String> headers = new java.util.LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.put(lines[i].substring(0, colon).strip().toLowerCase(java.util.Locale.ROOT), lines[i].substring(colon + 1).strip());
        }
        return new HttpFixture.RawResponse(Integer.parseInt(lines[0].split(" ")[1]), headers, new byte[0]);
    }

    @Test
    void openBlobFilesAreCappedAcrossConnections() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "berth:\n  limits:\n    openBlobFiles: 2\n")) {
            byte[] blob = new byte[8 << 20];
            new Random(2).nextBytes(blob);
            String digest = http.pushBlob("team/app", blob);
            List<Socket> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    Socket s = http.socket();
                    s.setReceiveBufferSize(4096);
                    stalled.add(s);
                    write(s, "GET /v2/team/app/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\n\r\n");
                }
                Path data = http.blobData(digest);
                awaitTrue("both downloads hold their files", () -> {
                    try {
                        return openFilesOf(data) == 2;
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                assertError(http.get("/v2/team/app/blobs/" + digest), 429, "TOOMANYREQUESTS");
                assertThat(http.get("/v2/").statusCode()).as("other requests still served").isEqualTo(200);
            } finally {
                for (Socket s : stalled) {
                    s.close();
                }
            }
            awaitTrue("the permits came back", () -> http.get("/v2/team/app/blobs/" + digest).statusCode() == 200);
        }
    }

    // ---- item 9: header timeout, connection caps

    @Test
    void aRequestHeadTrickledSlowerThanTheHeaderTimeoutIsDropped() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "berth:\n  limits:\n    headerTimeout: 500ms\n")) {
            try (Socket s = http.socket()) {
                write(s, "GET /v2/ HTTP/1.1\r\nHo");
                Thread.sleep(200);
                write(s, "st: x\r\n");
                assertThat(closedByServer(s)).as("closed within the socket's 15 s read timeout").isTrue();
            }
            try (Socket idle = http.socket()) {
                assertThat(closedByServer(idle)).as("a connection that sends nothing is dropped too").isTrue();
            }
            try (Socket kept = http.socket()) {
                write(kept, "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
                assertThat(read(kept).status()).isEqualTo(200);
                Thread.sleep(800); // longer than the header timeout, but nothing of the next head was sent yet
                write(kept, "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
                assertThat(read(kept).status()).as("an idle kept-alive connection is not timed as a head").isEqualTo(200);
            }
        }
    }

    @Test
    void connectionsPerClientAndInAllAreCapped() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0",
                "berth:\n  limits:\n    maxConnectionsPerClient: 3\n    maxConnections: 5\n")) {
            List<Socket> held = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    held.add(openAndPing(http, InetAddress.getByName("127.0.0.1")));
                }
                try (Socket fourth = connectFrom(http, InetAddress.getByName("127.0.0.1"))) {
                    assertThat(closedByServer(fourth)).as("a fourth connection from the same client").isTrue();
                }
                // Another client address still gets in, up to the overall cap.
                held.add(openAndPing(http, InetAddress.getByName("127.0.0.2")));
                held.add(openAndPing(http, InetAddress.getByName("127.0.0.3")));
                try (Socket sixth = connectFrom(http, InetAddress.getByName("127.0.0.4"))) {
                    assertThat(closedByServer(sixth)).as("past maxConnections").isTrue();
                }
                held.remove(0).close();
                awaitTrue("a slot came back", () -> {
                    try (Socket again = connectFrom(http, InetAddress.getByName("127.0.0.1"))) {
                        write(again, "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
                        return read(again).status() == 200;
                    } catch (IOException e) {
                        return false;
                    }
                });
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
        }
    }

    private static Socket connectFrom(HttpFixture http, InetAddress local) throws IOException {
        Socket s = new Socket();
        s.bind(new java.net.InetSocketAddress(local, 0));
        s.connect(http.address);
        s.setSoTimeout(15_000);
        return s;
    }

    private static Socket openAndPing(HttpFixture http, InetAddress local) throws IOException {
        Socket s = connectFrom(http, local);
        write(s, "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(read(s).status()).isEqualTo(200);
        return s;
    }

    // ---- item 2: client addresses behind trusted proxies

    /** A Berth with htpasswd auth (admin / right-password) that trusts the proxies at {@code trustedProxies}. */
    private HttpFixture withLogins(String trustedProxies) {
        HtpasswdFiles.write(dir.resolve("htpasswd"), "admin", "right-password");
        return HttpFixture.startWithConfig(dir, "127.0.0.1:0", """
                auth:
                  htpasswd:
                    realm: berth
                    path: %s
                berth:
                  trustedProxies: [%s]
                """.formatted(dir.resolve("htpasswd"), trustedProxies));
    }

    /** How many of 12 wrong passwords for admin, the i-th sent with {@code forwardedFor.apply(i)}, got 429. */
    private static int limitedGuesses(HttpFixture http, java.util.function.IntFunction<String> forwardedFor) {
        int limited = 0;
        for (int i = 0; i < 12; i++) {
            int status = http.get("/v2/", "Authorization", basic("admin", "guess-" + i), "X-Forwarded-For", forwardedFor.apply(i)).statusCode();
            limited += status == 429 ? 1 : 0;
        }
        return limited;
    }

    @Test
    void behindATrustedProxyFailedLoginsCountPerForwardedClient() throws Exception {
        try (HttpFixture http = withLogins("127.0.0.1/32")) {
            assertThat(limitedGuesses(http, i -> "203.0.113.7")).as("the guessing client is held to its budgets").isPositive();
            // The same account from another client behind the same proxy: the guesser's budget is not theirs.
            assertThat(http.get("/v2/", "Authorization", basic("admin", "right-password"), "X-Forwarded-For", "198.51.100.1, 203.0.113.99")
                    .statusCode()).isEqualTo(200);
            assertThat(http.get("/v2/", "Authorization", basic("admin", "right-password"), "X-Real-IP", "198.51.100.2")
                    .statusCode()).isEqualTo(200);
        }
    }

    @Test
    void forwardingHeadersFromAnUntrustedPeerAreIgnored() throws Exception {
        try (HttpFixture http = withLogins("10.0.0.0/8")) {
            // A different forged address each time would dodge every budget if it were believed.
            assertThat(limitedGuesses(http, i -> "203.0.113." + i)).as("forged X-Forwarded-For from an untrusted peer is not believed")
                    .isPositive();
        }
    }

    @Test
    void proxyProtocolFromATrustedProxyNamesTheClientForConnectionCaps() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0",
                "berth:\n  trustedProxies: [127.0.0.1]\n  limits:\n    maxConnectionsPerClient: 2\n")) {
            List<Socket> held = new ArrayList<>();
            try {
                held.add(proxied(http, v1("198.51.100.1")));
                held.add(proxied(http, v2(new byte[] {(byte) 198, 51, 100, 1})));
                try (Socket third = http.socket()) {
                    write(third, v1("198.51.100.1"));
                    assertThat(closedByServer(third)).as("a third connection of the same proxied client").isTrue();
                }
                held.add(proxied(http, v1("198.51.100.2")));
                // Without a PROXY header a trusted proxy is itself the client, and counts against no per-client cap.
                for (int i = 0; i < 3; i++) {
                    Socket plain = http.socket();
                    held.add(plain);
                    write(plain, "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
                    assertThat(read(plain).status()).isEqualTo(200);
                }
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
        }
    }

    @Test
    void proxyProtocolFromAnUntrustedPeerIsNotUnderstood() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "berth:\n  trustedProxies: [10.0.0.0/8]\n")) {
            try (Socket s = http.socket()) {
                write(s, v1("198.51.100.1") + "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
                assertThat(read(s).status()).as("a PROXY line is no HTTP request").isEqualTo(400);
            }
        }
    }

    private static String v1(String source) {
        return "PROXY TCP4 " + source + " 127.0.0.1 40000 5000\r\n";
    }

    private static byte[] v2(byte[] source) {
        ByteBuffer b = ByteBuffer.allocate(16 + 12);
        b.put(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        b.put((byte) 0x21); // version 2, PROXY
        b.put((byte) 0x11); // TCP over IPv4
        b.putShort((short) 12);
        b.put(source).put(new byte[] {127, 0, 0, 1}).putShort((short) 40000).putShort((short) 5000);
        return b.array();
    }

    private static Socket proxied(HttpFixture http, Object header) throws IOException {
        Socket s = http.socket();
        OutputStream out = s.getOutputStream();
        out.write(header instanceof String text ? text.getBytes(StandardCharsets.US_ASCII) : (byte[]) header);
        out.write("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        assertThat(read(s).status()).isEqualTo(200);
        return s;
    }

    // ---- item 3: request bodies held in memory

    @Test
    void manifestBodiesBeyondTheSharedBudgetAreRefusedWith429() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "berth:\n  limits:\n    bufferedBodyBytes: 4194304\n")) {
            List<Socket> slow = new ArrayList<>();
            try {
                // Two slow manifest PUTs of 3 MiB each: the first takes 3 MiB of the 4 MiB budget.
                Socket first = http.socket();
                slow.add(first);
                write(first, "PUT /v2/team/app/manifests/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: " + HttpFixture.OCI_MANIFEST
                        + "\r\nContent-Length: 3145728\r\n\r\n{");
                Thread.sleep(300);
                Socket second = http.socket();
                slow.add(second);
                write(second, "PUT /v2/team/app/manifests/v2 HTTP/1.1\r\nHost: x\r\nContent-Type: " + HttpFixture.OCI_MANIFEST
                        + "\r\nContent-Length: 3145728\r\n\r\n{");
                HttpFixture.RawResponse refused = read(second);
                assertThat(refused.status()).isEqualTo(429);
                assertThat(HttpFixture.json(refused.body()).path("errors").get(0).path("code").asText()).isEqualTo("TOOMANYREQUESTS");
                assertThat(http.get("/v2/").statusCode()).isEqualTo(200);
            } finally {
                for (Socket s : slow) {
                    s.close();
                }
            }
            // The budget comes back when the slow request dies.
            awaitTrue("the budget was given back", () -> {
                try {
                    http.pushImage("team/app", "after", "v3");
                    return true;
                } catch (AssertionError refused) {
                    return false;
                }
            });
        }
    }

    // ---- item 9: open uploads

    @Test
    void openUploadsAreCappedPerRepositoryAndPerAccount() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "berth:\n  uploads:\n    maxOpen: 3\n")) {
            for (int i = 0; i < 3; i++) {
                http.startUpload("team/a");
            }
            HttpResponse<byte[]> refused = http.send("POST", "/v2/team/a/blobs/uploads/", new byte[0]);
            assertError(refused, 429, "TOOMANYREQUESTS");
            assertThat(RegistryClient.text(refused)).contains("berth.uploads.maxOpen");
            // The same (anonymous) account in another repository: its own three are the account's limit too.
            assertError(http.send("POST", "/v2/team/b/blobs/uploads/", new byte[0]), 429, "TOOMANYREQUESTS");
        }
    }

    @Test
    void finishedCancelledAndIdleUploadsGiveTheirSlotsBack() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "berth:\n  uploads:\n    maxOpen: 2\n    idleTimeout: 1s\n")) {
            String cancelled = http.startUpload("team/a");
            assertThat(http.send("DELETE", cancelled, new byte[0]).statusCode()).isEqualTo(204);
            http.pushBlob("team/a", "done".getBytes(StandardCharsets.UTF_8));
            String abandoned = http.startUpload("team/a");
            http.startUpload("team/a");
            assertError(http.send("POST", "/v2/team/a/blobs/uploads/", new byte[0]), 429, "TOOMANYREQUESTS");
            awaitTrue("the idle uploads were purged", () -> http.send("POST", "/v2/team/a/blobs/uploads/", new byte[0]).statusCode() == 202);
            assertError(http.get(abandoned), 404, "BLOB_UPLOAD_UNKNOWN");
        }
    }

    // ---- issue 11: a malformed chunked body

    @Test
    void aChunkedBodyWithAGarbageChunkSizeIs400AndCommitsNothing() throws Exception {
        try (HttpFixture http = HttpFixture.startWithConfig(dir, "127.0.0.1:0", "")) {
            byte[] first = new byte[1000];
            java.util.Arrays.fill(first, (byte) 'a');
            String location = http.startUpload("team/app");
            String path = location.substring(location.indexOf("/v2/"));
            for (String method : List.of("PATCH", "PUT")) {
                String target = method.equals("PUT") ? path + (path.contains("?") ? "&" : "?") + "digest=" + RegistryClient.sha256(first) : path;
                try (Socket s = http.socket()) {
                    write(s, method + " " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                            + "Transfer-Encoding: chunked\r\n\r\n3e8\r\n");
                    write(s, first);
                    write(s, "\r\nnot-a-size\r\n");
                    HttpFixture.RawResponse r = read(s);
                    assertThat(r.status()).as(method).isEqualTo(400);
                    assertThat(HttpFixture.json(r.body()).path("errors").get(0).path("code").asText()).isEqualTo("BLOB_UPLOAD_INVALID");
                    assertThat(closedByServer(s)).isTrue();
                }
            }
            assertThat(http.head("/v2/team/app/blobs/" + RegistryClient.sha256(first)).statusCode()).as("nothing was committed").isEqualTo(404);
        }
    }

    // ---- item 1: log fields

    @Test
    void logFieldsAreTruncatedAndEscaped() {
        assertThat(RegistryHandler.quote("A".repeat(15_000), 16)).isEqualTo("A".repeat(16) + "…");
        assertThat(RegistryHandler.quote("a\"b\\c\nd\u0001", 100)).isEqualTo("a\\\"b\\\\c\\x0ad\\x01");
    }
}
