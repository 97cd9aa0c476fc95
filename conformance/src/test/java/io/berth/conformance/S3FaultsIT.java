package io.berth.conformance;

import static io.berth.conformance.RoundTripContent.blobPath;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.RegistryClient;
import io.berth.testing.S3TestServer;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a registry client sees when the S3 server misbehaves: a fault-injecting HTTP proxy ({@link FaultProxy}, on
 * 127.0.0.1) between Berth and versitygw answers 503 SlowDown or drops a connection in the middle of an UploadPart
 * body; and Berth started with a wrong secret key. Pushes go through {@link RegistryClient}, which never retries, so
 * that what Berth answers is what is asserted.
 */
class S3FaultsIT {
    private static final String BUCKET = "registry";
    private static final long CHUNK = 5L << 20;
    /** The spec's error body: {"errors":[{"code":...,"message":...}]}. */
    private static final Pattern ERROR_BODY = Pattern.compile("(?s)\\{\\s*\"errors\"\\s*:\\s*\\[\\s*\\{.*\"code\"\\s*:.*");

    @TempDir
    static Path work;

    private static S3TestServer s3;

    @BeforeAll
    static void startS3() {
        s3 = S3TestServer.start(work, BUCKET);
    }

    @AfterAll
    static void stopS3() {
        Daemon.closeAll(s3);
    }

    @Test
    void occasionalSlowDownIsRetriedAndThePushSucceeds(@TempDir Path dir) {
        try (FaultProxy proxy = FaultProxy.start(s3.endpoint());
                S3Berth berth = berth(dir, "slowdown-some", proxy);
                RegistryClient c = berth.client()) {
            // Every third request to S3 from here on is refused once with 503 SlowDown.
            AtomicInteger n = new AtomicInteger();
            proxy.policy((request) -> n.incrementAndGet() % 3 == 0 ? Fault.SLOW_DOWN : Fault.NONE);
            Random random = new Random(1);
            byte[] config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"
                    .getBytes(StandardCharsets.UTF_8);
            byte[] small = bytes(random, 100_000);
            byte[] large = bytes(random, (int) (2 * CHUNK + 777));
            String configDigest = c.pushBlob("faults/app", config);
            String smallDigest = c.pushBlob("faults/app", small);
            String largeDigest = chunkedUpload(c, "faults/app", large, (int) CHUNK + 1, large.length);
            byte[] manifest = manifest(configDigest, config.length, List.of(smallDigest, largeDigest), List.of(small.length, large.length));
            String digest = c.putManifest("faults/app", "v1", "application/vnd.oci.image.manifest.v1+json", manifest);

            proxy.policy(request -> Fault.NONE);
            assertThat(proxy.injected()).as("503 SlowDown answers the proxy gave Berth").isGreaterThan(3);
            assertThat(RegistryClient.expect(c.get("/v2/faults/app/manifests/v1", "Accept", "application/vnd.oci.image.manifest.v1+json"), 200)
                    .headers().firstValue("Docker-Content-Digest")).hasValue(digest);
            for (var blob : List.of(configDigest, smallDigest, largeDigest)) {
                assertThat(RegistryClient.sha256(RegistryClient.expect(c.get("/v2/faults/app/blobs/" + blob), 200).body())).isEqualTo(blob);
            }
        }
    }

    @Test
    void slowDownOnEveryRequestGivesTheClientARegistryErrorNotAHang(@TempDir Path dir) {
        try (FaultProxy proxy = FaultProxy.start(s3.endpoint());
                S3Berth berth = berth(dir, "slowdown-all", proxy);
                RegistryClient c = RegistryClient.builder(berth.baseUri()).timeout(Duration.ofMinutes(3)).build()) {
            String before = c.pushBlob("faults/app", "pushed before the outage".getBytes(StandardCharsets.UTF_8));
            proxy.policy(request -> Fault.SLOW_DOWN);

            List<HttpResponse<byte[]>> answers = List.of(
                    c.send("POST", "/v2/faults/app/blobs/uploads/?digest=" + RegistryClient.sha256(new byte[] {1, 2, 3}),
                            new byte[] {1, 2, 3}, "Content-Type", "application/octet-stream"),
                    c.get("/v2/faults/app/blobs/" + before),
                    c.get("/v2/faults/app/manifests/v1", "Accept", "application/vnd.oci.image.manifest.v1+json"),
                    c.get("/v2/faults/app/tags/list"));
            for (HttpResponse<byte[]> r : answers) {
                assertThat(r.statusCode()).as("%s %s while S3 answers SlowDown: %s", r.request().method(), r.request().uri(),
                        RegistryClient.text(r)).isBetween(500, 599);
                assertThat(RegistryClient.text(r)).as("the body of %s %s", r.request().method(), r.request().uri()).matches(ERROR_BODY);
            }
            assertThat(berth.isAlive()).isTrue();

            proxy.policy(request -> Fault.NONE);
            String after = c.pushBlob("faults/app", "pushed after the outage".getBytes(StandardCharsets.UTF_8));
            assertThat(RegistryClient.expect(c.get("/v2/faults/app/blobs/" + after), 200).body())
                    .asString(StandardCharsets.UTF_8).isEqualTo("pushed after the outage");
        }
    }

    @Test
    void aConnectionDroppedInAnUploadPartBodyIsRetriedOrRefusedAndNoPartialBlobIsEverServed(@TempDir Path dir) {
        try (FaultProxy proxy = FaultProxy.start(s3.endpoint());
                S3Berth berth = berth(dir, "drop-once", proxy);
                RegistryClient c = RegistryClient.builder(berth.baseUri()).timeout(Duration.ofMinutes(3)).build()) {
            byte[] blob = bytes(new Random(2), (int) (3 * CHUNK + 4321));
            String digest = RegistryClient.sha256(blob);
            AtomicInteger parts = new AtomicInteger();
            proxy.policy(request -> request.isUploadPart() && parts.incrementAndGet() == 2 ? Fault.DROP_MID_BODY : Fault.NONE);

            HttpResponse<byte[]> put = pushMonolithic(c, "faults/app", blob);

            assertThat(proxy.injected()).as("UploadPart bodies the proxy cut").isEqualTo(1);
            if (put.statusCode() == 201) {
                assertServedWhole(c, "faults/app", digest, blob);
            } else {
                assertClearError(put);
                assertNotServedOrWhole(c, "faults/app", digest, blob, "drop-once");
            }
        }
    }

    @Test
    void uploadPartsThatAlwaysDropGiveAClearErrorAndNoBlob(@TempDir Path dir) {
        try (FaultProxy proxy = FaultProxy.start(s3.endpoint());
                S3Berth berth = berth(dir, "drop-always", proxy);
                RegistryClient c = RegistryClient.builder(berth.baseUri()).timeout(Duration.ofMinutes(3)).build()) {
            byte[] blob = bytes(new Random(3), (int) (2 * CHUNK + 99));
            String digest = RegistryClient.sha256(blob);
            proxy.policy(request -> request.isUploadPart() ? Fault.DROP_MID_BODY : Fault.NONE);

            HttpResponse<byte[]> put = pushMonolithic(c, "faults/app", blob);

            assertThat(proxy.injected()).isPositive();
            assertClearError(put);
            assertThat(c.head("/v2/faults/app/blobs/" + digest).statusCode()).isEqualTo(404);
            assertThat(c.get("/v2/faults/app/blobs/" + digest).statusCode()).isEqualTo(404);
            assertThat(objectOf("drop-always", digest)).as("the blob's object in the bucket").doesNotExist();

            proxy.policy(request -> Fault.NONE);
            HttpResponse<byte[]> again = pushMonolithic(c, "faults/app", blob);
            assertThat(again.statusCode()).as("the same push once S3 is well: %s", RegistryClient.text(again)).isEqualTo(201);
            assertServedWhole(c, "faults/app", digest, blob);
        }
    }

    @Test
    void aWrongSecretKeyIsReportedAsACredentialsProblem(@TempDir Path dir) {
        S3Berth.Options options = S3Berth.options().rootDirectory("wrong-secret")
                .credentials(s3.accessKey(), "not-" + s3.secretKey())
                .yaml("health:\n  storagedriver:\n    enabled: true\n    interval: 1s\n    threshold: 1\n");
        Pattern namesCredentials = Pattern.compile("(?is).*(credential|secret ?key|signature|access ?key).*");
        try (S3Berth berth = S3Berth.launch(s3, BUCKET, dir.resolve("berth"), options)) {
            Integer exit = startedOrExited(berth, Duration.ofMinutes(2));
            if (exit != null) {
                assertThat(exit).as("Berth's exit code with a wrong secret key").isNotZero();
                assertThat(berth.logText()).as("Berth's output with a wrong secret key").matches(namesCredentials);
                return;
            }
            try (RegistryClient c = berth.client()) {
                HttpResponse<byte[]> push = c.send("POST", "/v2/faults/app/blobs/uploads/?digest=" + RegistryClient.sha256(new byte[] {7}),
                        new byte[] {7}, "Content-Type", "application/octet-stream");
                assertThat(push.statusCode()).as("a push with a wrong secret key: %s", RegistryClient.text(push)).isBetween(500, 599);
                assertThat(RegistryClient.text(push)).matches(ERROR_BODY).matches(namesCredentials);
                HttpResponse<byte[]> base = awaitStatus(c, "/v2/", 503, Duration.ofSeconds(60));
                assertThat(RegistryClient.text(base)).as("GET /v2/ once the storage health check failed").matches(namesCredentials);
                assertThat(berth.logText()).as("Berth's log").matches(namesCredentials);
            }
        }
    }

    // ---- helpers

    private static S3Berth berth(Path dir, String root, FaultProxy proxy) {
        return S3Berth.start(s3, BUCKET, dir.resolve("berth"), S3Berth.options().rootDirectory(root).chunkSize(CHUNK)
                .endpoint(proxy.endpoint()));
    }

    /** POST then one PUT with the whole blob; the PUT's answer. */
    private static HttpResponse<byte[]> pushMonolithic(RegistryClient c, String repo, byte[] blob) {
        URI location = c.resolve(c.startUpload(repo));
        String sep = location.getRawQuery() == null ? "?" : "&";
        return c.send("PUT", location + sep + "digest=" + RegistryClient.sha256(blob), blob, "Content-Type", "application/octet-stream");
    }

    /** POST, a PATCH per boundary in {@code ends}, then PUT ?digest=; returns the digest. */
    private static String chunkedUpload(RegistryClient c, String repo, byte[] content, int... ends) {
        URI location = c.resolve(c.startUpload(repo));
        int from = 0;
        for (int end : ends) {
            HttpResponse<byte[]> r = RegistryClient.expect(c.send("PATCH", location.toString(), java.util.Arrays.copyOfRange(content, from, end),
                    "Content-Type", "application/octet-stream", "Content-Range", from + "-" + (end - 1)), 202);
            location = c.resolve(r.headers().firstValue("Location").orElseThrow());
            from = end;
        }
        String digest = RegistryClient.sha256(content);
        String sep = location.getRawQuery() == null ? "?" : "&";
        RegistryClient.expect(c.send("PUT", location + sep + "digest=" + digest, null), 201);
        return digest;
    }

    private static void assertClearError(HttpResponse<byte[]> r) {
        assertThat(r.statusCode()).as("%s %s: %s", r.request().method(), r.request().uri(), RegistryClient.text(r)).isBetween(500, 599);
        assertThat(RegistryClient.text(r)).matches(ERROR_BODY);
    }

    private static void assertServedWhole(RegistryClient c, String repo, String digest, byte[] blob) {
        HttpResponse<byte[]> head = RegistryClient.expect(c.head("/v2/" + repo + "/blobs/" + digest), 200);
        assertThat(head.headers().firstValueAsLong("Content-Length")).hasValue(blob.length);
        assertThat(RegistryClient.sha256(RegistryClient.expect(c.get("/v2/" + repo + "/blobs/" + digest), 200).body())).isEqualTo(digest);
    }

    /** HEAD and GET of the digest are 404, or 200 with every byte; the bucket holds the whole blob or none. */
    private static void assertNotServedOrWhole(RegistryClient c, String repo, String digest, byte[] blob, String root) {
        int head = c.head("/v2/" + repo + "/blobs/" + digest).statusCode();
        assertThat(head).isIn(200, 404);
        if (head == 200) {
            assertServedWhole(c, repo, digest, blob);
        } else {
            assertThat(c.get("/v2/" + repo + "/blobs/" + digest).statusCode()).isEqualTo(404);
        }
        Path object = objectOf(root, digest);
        if (Files.exists(object)) {
            assertThat(object).as("the blob's object in the bucket").hasSize(blob.length);
            assertThat(RegistryClient.sha256(object)).isEqualTo(digest);
        }
    }

    private static Path objectOf(String root, String digest) {
        return s3.dir().resolve(BUCKET).resolve(root).resolve(blobPath(digest));
    }

    /** Waits until /v2/ answers (null) or the process exits (its code). */
    private static @Nullable Integer startedOrExited(S3Berth berth, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (RegistryClient c = RegistryClient.builder(berth.baseUri()).timeout(Duration.ofSeconds(5)).build()) {
            while (System.nanoTime() < deadline) {
                Integer exit = berth.awaitExit(Duration.ofMillis(200));
                if (exit != null) {
                    return exit;
                }
                try {
                    c.get("/v2/");
                    return null;
                } catch (RuntimeException e) {
                    // not listening yet
                }
            }
        }
        throw new AssertionError("Berth with a wrong secret key neither served nor exited:\n" + berth.logTail());
    }

    /** Polls {@code path} until it answers {@code status}; the health check runs every second. */
    private static HttpResponse<byte[]> awaitStatus(RegistryClient c, String path, int status, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        HttpResponse<byte[]> r = c.get(path);
        while (r.statusCode() != status && System.nanoTime() < deadline) {
            Daemon.sleep(Duration.ofMillis(250));
            r = c.get(path);
        }
        assertThat(r.statusCode()).as("GET %s: %s", path, RegistryClient.text(r)).isEqualTo(status);
        return r;
    }

    private static byte[] manifest(String config, int configSize, List<String> layers, List<Integer> sizes) {
        StringBuilder b = new StringBuilder("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",")
                .append("\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"").append(config)
                .append("\",\"size\":").append(configSize).append("},\"layers\":[");
        for (int i = 0; i < layers.size(); i++) {
            b.append(i == 0 ? "" : ",").append("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"")
                    .append(layers.get(i)).append("\",\"size\":").append(sizes.get(i)).append('}');
        }
        return b.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] bytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    // ---- the proxy

    /** What the proxy does with one request. */
    enum Fault {
        /** Forwarded. */
        NONE,
        /** Answered 503 SlowDown (S3's throttling error) without reaching the server; the connection is then closed. */
        SLOW_DOWN,
        /** Forwarded, then both connections are dropped halfway through the request body. */
        DROP_MID_BODY
    }

    /** The first line and headers of an HTTP/1.1 message. */
    record Head(String line, List<String[]> headers, byte[] raw) {
        @Nullable String header(String name) {
            for (String[] h : headers) {
                if (h[0].equalsIgnoreCase(name)) {
                    return h[1];
                }
            }
            return null;
        }

        String method() {
            return line.substring(0, line.indexOf(' '));
        }

        String target() {
            String[] parts = line.split(" ");
            return parts.length > 1 ? parts[1] : "";
        }

        int status() {
            return Integer.parseInt(line.split(" ")[1]);
        }

        /** S3's UploadPart: PUT ?partNumber=&uploadId= with a body (not UploadPartCopy). */
        boolean isUploadPart() {
            return method().equals("PUT") && target().contains("partNumber=") && target().contains("uploadId=")
                    && header("x-amz-copy-source") == null;
        }

        long contentLength() {
            String v = header("Content-Length");
            return v == null ? -1 : Long.parseLong(v.strip());
        }

        boolean chunked() {
            String v = header("Transfer-Encoding");
            return v != null && v.toLowerCase(Locale.ROOT).contains("chunked");
        }
    }

    /** Decides each request's fault. */
    interface Policy {
        Fault decide(Head request);
    }

    /**
     * A plain HTTP/1.1 proxy in front of an S3 server, on 127.0.0.1: each client connection gets one upstream connection
     * and its requests are relayed one at a time, bytes unchanged (the Host header too, so SigV4 signatures hold),
     * 100-continue included. The {@link Policy} picks a {@link Fault} per request.
     */
    static final class FaultProxy implements AutoCloseable {
        private static final byte[] SLOW_DOWN_BODY = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
                + "<Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>")
                .getBytes(StandardCharsets.UTF_8);

        private final ServerSocket server;
        private final URI upstream;
        private final List<Socket> open = Collections.synchronizedList(new ArrayList<>());
        private final AtomicInteger injected = new AtomicInteger();
        private final List<String> events = Collections.synchronizedList(new ArrayList<>());
        private volatile Policy policy = request -> Fault.NONE;
        private volatile boolean closed;

        private FaultProxy(ServerSocket server, URI upstream) {
            this.server = server;
            this.upstream = upstream;
        }

        static FaultProxy start(URI upstream) {
            try {
                FaultProxy p = new FaultProxy(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()), upstream);
                Thread.ofVirtual().name("fault-proxy-accept").start(p::acceptLoop);
                return p;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        URI endpoint() {
            return URI.create("http://127.0.0.1:" + server.getLocalPort());
        }

        void policy(Policy policy) {
            this.policy = policy;
        }

        /** One line per request: its first line, the fault, and the server's status when it answered. */
        List<String> events() {
            synchronized (events) {
                return List.copyOf(events);
            }
        }

        /** How many requests got a fault. */
        int injected() {
            return injected.get();
        }

        private void acceptLoop() {
            while (!closed) {
                try {
                    Socket client = server.accept();
                    open.add(client);
                    Thread.ofVirtual().start(() -> serve(client));
                } catch (IOException e) {
                    return; // closed
                }
            }
        }

        private void serve(Socket client) {
            Socket up = null;
            try (client) {
                InputStream cin = new BufferedInputStream(client.getInputStream());
                OutputStream cout = client.getOutputStream();
                InputStream uin = null;
                OutputStream uout = null;
                while (true) {
                    Head request = readHead(cin);
                    if (request == null) {
                        return;
                    }
                    Fault fault = policy.decide(request);
                    if (fault != Fault.NONE) {
                        injected.incrementAndGet();
                    }
                    events.add(request.line() + " -> " + fault);
                    boolean hasBody = request.contentLength() > 0 || request.chunked();
                    boolean expectContinue = "100-continue".equalsIgnoreCase(String.valueOf(request.header("Expect")).strip());
                    if (fault == Fault.SLOW_DOWN || fault == Fault.DROP_MID_BODY && !hasBody) {
                        if (hasBody && !expectContinue) {
                            copyBody(cin, OutputStream.nullOutputStream(), request);
                        }
                        cout.write(("HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nx-amz-request-id: fault-proxy\r\n"
                                + "Content-Length: " + SLOW_DOWN_BODY.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                        cout.write(SLOW_DOWN_BODY);
                        cout.flush();
                        return;
                    }
                    if (up == null) {
                        up = new Socket(upstream.getHost(), upstream.getPort());
                        open.add(up);
                        uin = new BufferedInputStream(up.getInputStream());
                        uout = up.getOutputStream();
                    }
                    uout.write(request.raw());
                    uout.flush();
                    if (hasBody && expectContinue) {
                        // Some servers (versitygw) send no 100 until the body comes, and clients send it after a wait:
                        // the proxy says 100 itself, and drops the server's.
                        cout.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                        cout.flush();
                    }
                    if (hasBody) {
                        if (fault == Fault.DROP_MID_BODY) {
                            long half = Math.max(1, request.contentLength() / 2);
                            copyN(cin, uout, half);
                            uout.flush();
                            events.add("  dropped after " + half + " bytes of the body");
                            client.setSoLinger(true, 0);
                            up.setSoLinger(true, 0);
                            up.close();
                            return; // the client's connection is reset by the try-with-resources
                        }
                        copyBody(cin, uout, request);
                        uout.flush();
                    }
                    Head response;
                    do {
                        response = readHead(uin);
                        if (response == null) {
                            return;
                        }
                        if (response.status() / 100 == 1 && !expectContinue) {
                            cout.write(response.raw());
                        }
                    } while (response.status() / 100 == 1);
                    events.add("  " + response.line());
                    if (!relayResponse(response, uin, cout, request)) {
                        return;
                    }
                }
            } catch (IOException | RuntimeException e) {
                events.add("  connection ended: " + e);
            } finally {
                if (up != null) {
                    try {
                        up.close();
                    } catch (IOException e) {
                        // gone
                    }
                }
            }
        }

        /** Relays a final response; false when the connection must end after it. */
        private static boolean relayResponse(Head response, InputStream uin, OutputStream cout, Head request) throws IOException {
            cout.write(response.raw());
            int status = response.status();
            boolean noBody = request.method().equals("HEAD") || status == 204 || status == 304;
            boolean untilClose = false;
            if (!noBody) {
                if (response.chunked()) {
                    copyChunked(uin, cout);
                } else if (response.contentLength() >= 0) {
                    copyN(uin, cout, response.contentLength());
                } else {
                    uin.transferTo(cout);
                    untilClose = true;
                }
            }
            cout.flush();
            return !untilClose && !"close".equalsIgnoreCase(String.valueOf(response.header("Connection")).strip());
        }

        private static void copyBody(InputStream in, OutputStream out, Head head) throws IOException {
            if (head.chunked()) {
                copyChunked(in, out);
            } else if (head.contentLength() > 0) {
                copyN(in, out, head.contentLength());
            }
        }

        private static void copyN(InputStream in, OutputStream out, long n) throws IOException {
            byte[] buf = new byte[64 * 1024];
            long left = n;
            while (left > 0) {
                int r = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (r < 0) {
                    throw new IOException("EOF with " + left + " bytes to go");
                }
                out.write(buf, 0, r);
                left -= r;
            }
        }

        /** Copies a chunked body as it is: size lines, data, the last chunk and the trailers. */
        private static void copyChunked(InputStream in, OutputStream out) throws IOException {
            while (true) {
                String sizeLine = readLine(in);
                out.write((sizeLine + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                int semi = sizeLine.indexOf(';');
                long size = Long.parseLong((semi < 0 ? sizeLine : sizeLine.substring(0, semi)).strip(), 16);
                if (size == 0) {
                    String trailer;
                    do {
                        trailer = readLine(in);
                        out.write((trailer + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    } while (!trailer.isEmpty());
                    return;
                }
                copyN(in, out, size);
                String crlf = readLine(in);
                out.write((crlf + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            }
        }

        private static String readLine(InputStream in) throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) >= 0) {
                if (b == '\n') {
                    break;
                }
                line.write(b);
            }
            if (b < 0) {
                throw new IOException("EOF in a line");
            }
            String s = line.toString(StandardCharsets.ISO_8859_1);
            return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
        }

        /** A message head, or null at EOF before its first byte. */
        private static @Nullable Head readHead(InputStream in) throws IOException {
            ByteArrayOutputStream raw = new ByteArrayOutputStream();
            List<String> lines = new ArrayList<>();
            while (true) {
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                int b;
                while ((b = in.read()) >= 0 && b != '\n') {
                    line.write(b);
                }
                if (b < 0) {
                    if (raw.size() == 0 && line.size() == 0) {
                        return null;
                    }
                    throw new IOException("EOF in a message head");
                }
                raw.write(line.toByteArray());
                raw.write('\n');
                String s = line.toString(StandardCharsets.ISO_8859_1);
                s = s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
                if (s.isEmpty()) {
                    if (lines.isEmpty()) {
                        continue; // a stray CRLF between messages
                    }
                    break;
                }
                lines.add(s);
            }
            List<String[]> headers = new ArrayList<>();
            for (String h : lines.subList(1, lines.size())) {
                int colon = h.indexOf(':');
                if (colon > 0) {
                    headers.add(new String[] {h.substring(0, colon).strip(), h.substring(colon + 1).strip()});
                }
            }
            return new Head(lines.get(0), headers, raw.toByteArray());
        }

        @Override
        public void close() {
            closed = true;
            try {
                server.close();
            } catch (IOException e) {
                // closed
            }
            synchronized (open) {
                for (Socket s : open) {
                    try {
                        s.close();
                    } catch (IOException e) {
                        // closed
                    }
                }
            }
        }
    }
}
