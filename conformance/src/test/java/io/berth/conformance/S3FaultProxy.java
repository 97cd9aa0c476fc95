package io.berth.conformance;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * A plain HTTP/1.1 proxy in front of an S3 server, on 127.0.0.1: each client connection gets one upstream connection
 * and its requests are relayed one at a time, bytes unchanged (the Host header too, so SigV4 signatures hold),
 * except that the proxy answers 100-continue itself. The {@link Policy} picks a {@link Fault} per request; the proxy
 * is used by S3FaultsIT.
 */
final class S3FaultProxy implements AutoCloseable {
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

    private S3FaultProxy(ServerSocket server, URI upstream) {
        this.server = server;
        this.upstream = upstream;
    }

    static S3FaultProxy start(URI upstream) {
        try {
            S3FaultProxy p = new S3FaultProxy(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()), upstream);
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
                    if (!request.method().equals("HEAD")) { // a HEAD's answer has no body
                        cout.write(SLOW_DOWN_BODY);
                    }
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
