package io.berth.server.http;

import io.berth.server.logging.AccessLine;
import io.berth.server.logging.Fields;
import io.berth.server.logging.Redaction;
import io.berth.server.logging.RequestIds;
import io.berth.storage.Problem;
import io.berth.storage.StorageException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpChunkedInput;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.stream.ChunkedNioFile;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * One connection's request loop. Runs on a storage executor, off the I/O threads, with auto-read off:
 * the next bytes are read only when the last batch has been written to disk, so a fast client cannot
 * fill the heap. Not shared: it holds the state of the request in flight.
 *
 * <p>One response at a time, as registry:2 answers: while a response is being written, later pipelined
 * requests wait, unopened, in a backlog that the read-ahead bounds; the next is taken once the response
 * has gone to the socket. A client that pipelines blob GETs and never reads therefore holds one open file,
 * not one per request, and is dropped by the write timeout.
 *
 * <p>Each request has a log context ({@link #logContext}: registry:2's {@code http.request.*} and {@code vars.*}
 * fields, its id first), put in the MDC for every callback that works on it and cleared after, since the
 * callbacks of one connection run on whichever pool thread is free.
 */
final class RegistryHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(RegistryHandler.class);
    private static final Logger access = LoggerFactory.getLogger("io.berth.access");
    private static final String API_VERSION = "Docker-Distribution-API-Version";
    /** Downloads over TLS are read and encrypted in chunks this big (sendfile needs none without TLS). */
    private static final int TLS_CHUNK = 512 * 1024;

    private final Endpoints endpoints;
    private final ReadAhead readAhead;
    private @Nullable Exchange exchange;
    private @Nullable BodySink sink;
    /** The reply was sent before the body arrived; swallow the rest of this request. */
    private boolean discarding;
    /** A response is being written; later messages wait in {@link #backlog}. */
    private boolean responding;
    private final java.util.ArrayDeque<Object> backlog = new java.util.ArrayDeque<>();
    /** This request holds one of the {@code berth.limits.openBlobFiles} permits. */
    private boolean blobPermit;
    /** A request of this connection is counted in {@code berth.http.requests.active}. */
    private boolean counted;
    /** The log fields of the request in flight; its id is also sent back in {@code X-Request-Id}. */
    private Map<String, String> logContext = Map.of();

    RegistryHandler(Endpoints endpoints, ReadAhead readAhead) {
        this.endpoints = endpoints;
        this.readAhead = readAhead;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.read();
        ctx.fireChannelActive();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // The read-ahead's I/O side has asked for the next read already, or will once there is room.
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (responding || !backlog.isEmpty()) {
            backlog.add(msg);
            return;
        }
        handle(ctx, msg);
    }

    /** The response went to the socket (or the connection failed): take the next waiting messages. */
    private void responded(ChannelHandlerContext ctx) {
        responding = false;
        releaseBlobPermit();
        if (!ctx.channel().isActive()) {
            releaseBacklog(); // closed after its response (Connection: close): what was pipelined behind it is not served
            return;
        }
        Object next;
        while (!responding && (next = backlog.poll()) != null) {
            handle(ctx, next);
        }
    }

    private void handle(ChannelHandlerContext ctx, Object msg) {
        long weight = ReadAhead.weight(msg);
        if (!logContext.isEmpty() && !(msg instanceof HttpRequest)) {
            MDC.setContextMap(logContext);
        }
        try {
            if (msg instanceof HttpRequest request) {
                onRequest(ctx, request);
            }
            if (msg instanceof HttpContent content && content.decoderResult().isFailure() && !(msg instanceof HttpRequest)) {
                onMalformedBody(content);
                return;
            }
            if (msg instanceof HttpContent content && !discarding && sink != null) {
                onContent(content);
            }
            if (msg instanceof LastHttpContent) {
                if (!discarding && exchange != null && sink != null) {
                    reply(exchange, finish(sink));
                }
                exchange = null;
                sink = null;
                discarding = false;
            }
        } finally {
            MDC.clear();
            ReferenceCountUtil.release(msg);
            if (weight > 0) {
                readAhead.consumed(ctx, weight);
            }
        }
    }

    private void onRequest(ChannelHandlerContext ctx, HttpRequest request) {
        discarding = false;
        long start = System.nanoTime();
        if (!counted) {
            counted = true;
            endpoints.registry().metrics().requestStarted();
        }
        if (request.decoderResult().isFailure()) {
            Exchange ex = new Exchange(ctx, request, Route.NONE, new QueryStringDecoder(""), start,
                    endpoints.registry().clients().of(ctx.channel(), request.headers()));
            logContext = logContext(ex, false);
            reply(ex, Reply.of(closing(Responses.error(new HttpError(ErrorCode.UNKNOWN, HttpResponseStatus.BAD_REQUEST,
                    "malformed HTTP request (TLS sent to a plain-HTTP port?): " + request.decoderResult().cause().getMessage())))));
            discarding = true;
            return;
        }
        String client = endpoints.registry().clients().of(ctx.channel(), request.headers());
        String uri = request.uri();
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        QueryStringDecoder query = new QueryStringDecoder(uri);
        String badHost = HostHeader.problem(request);
        Route route;
        try {
            if (badHost != null) {
                throw new HttpError(ErrorCode.UNKNOWN, HttpResponseStatus.BAD_REQUEST, badHost);
            }
            route = routeOf(path);
        } catch (HttpError e) {
            exchange = new Exchange(ctx, request, Route.NONE, query, start, client);
            logContext = logContext(exchange, true);
            refuse(e);
            return;
        }
        Exchange ex = new Exchange(ctx, request, route, query, start, client);
        exchange = ex;
        logContext = logContext(ex, true);
        try {
            switch (endpoints.registry().access().check(ex)) {
                case AccessControl.Outcome.Refused r -> {
                    if (r.failedScheme() != null) {
                        endpoints.registry().metrics().authFailure(r.failedScheme());
                    }
                    refuse(r.response());
                    return;
                }
                case AccessControl.Outcome.Allowed a -> {
                    ex = ex.as(a.principal());
                    exchange = ex;
                    if (!a.principal().anonymous()) {
                        logContext.put(Fields.AUTH_USER_NAME, clip(a.principal().name(), 256));
                        MDC.put(Fields.AUTH_USER_NAME, logContext.get(Fields.AUTH_USER_NAME));
                    }
                }
            }
            if (route.kind() == Route.Kind.BLOB && ex.method().equals(io.netty.handler.codec.http.HttpMethod.GET)) {
                if (!endpoints.registry().openBlobs().tryAcquire()) {
                    throw new HttpError(ErrorCode.TOOMANYREQUESTS, "the server has as many blob downloads open as it may "
                            + "(berth.limits.openBlobFiles); retry shortly");
                }
                blobPermit = true;
            }
            sink = endpoints.open(ex);
        } catch (RuntimeException e) {
            refuse(toHttpError(e));
        }
    }

    /**
     * The request's log fields, registry:2's names, put in the MDC at once: client text clipped, the target's
     * credentials redacted ({@link Redaction}); request headers other than these are never logged.
     */
    private static Map<String, String> logContext(Exchange ex, boolean parsed) {
        HttpRequest request = ex.request();
        Map<String, String> c = new HashMap<>(16);
        c.put(Fields.REQUEST_ID, RequestIds.of(parsed ? request.headers().get(RequestIds.HEADER) : null));
        c.put(Fields.REQUEST_REMOTEADDR, ex.client());
        if (parsed) {
            c.put(Fields.REQUEST_METHOD, clip(request.method().name(), 16));
            c.put(Fields.REQUEST_URI, Redaction.uri(clip(request.uri(), 1024)));
            putHeader(c, Fields.REQUEST_HOST, request, HttpHeaderNames.HOST);
            putHeader(c, Fields.REQUEST_USERAGENT, request, HttpHeaderNames.USER_AGENT);
            putHeader(c, Fields.REQUEST_CONTENTTYPE, request, HttpHeaderNames.CONTENT_TYPE);
            Route route = ex.route();
            if (route.name() != null) {
                c.put(Fields.VARS_NAME, route.name().toString());
                switch (route.kind()) {
                    case MANIFEST -> c.put(Fields.VARS_REFERENCE, clip(route.reference(), 256));
                    case BLOB -> c.put(Fields.VARS_DIGEST, clip(route.reference(), 256));
                    case UPLOAD -> c.put(Fields.VARS_UUID, clip(route.reference(), 256));
                    default -> { }
                }
            }
        }
        MDC.setContextMap(c);
        return c;
    }

    private static void putHeader(Map<String, String> c, String field, HttpRequest request, CharSequence header) {
        String value = request.headers().get(header);
        if (value != null) {
            c.put(field, clip(value, 256));
        }
    }

    private static String clip(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "…";
    }

    private Route routeOf(String path) {
        TokenEndpoint tokens = endpoints.registry().tokenEndpoint();
        if (tokens != null && path.equals(tokens.path())) {
            return Route.TOKEN;
        }
        String prefix = endpoints.registry().config().http().prefix();
        String local = prefix.equals("/") ? path : path.startsWith(prefix) ? path.substring(prefix.length() - 1) : "";
        return Route.parse(local);
    }

    /**
     * Answers a request that failed at its head. A request that has a body gets its answer at once
     * and the connection closes, so a refused upload is never read.
     */
    private void refuse(HttpError e) {
        refuse(Responses.error(e));
    }

    private void refuse(FullHttpResponse r) {
        Exchange ex = exchange;
        if (ex == null) {
            return;
        }
        boolean hasBody = HttpUtil.getContentLength(ex.request(), 0L) > 0 || HttpUtil.isTransferEncodingChunked(ex.request());
        if (hasBody) {
            reply(ex, Reply.of(closingEarly(r)));
            discarding = true;
        } else {
            sink = BodySink.ignoring(() -> Reply.of(r));
        }
    }

    /**
     * The body could not be decoded (a bad chunk size, say): nothing more of this connection can be read, so the
     * request ends here with a 400 and the connection closes. What an upload received before stays resumable, as
     * after a disconnect; nothing is committed.
     */
    private void onMalformedBody(HttpContent content) {
        Exchange ex = exchange;
        BodySink s = sink;
        boolean answered = discarding;
        exchange = null;
        sink = null;
        discarding = false;
        if (s != null) {
            s.abort();
        }
        if (ex == null || answered) {
            return;
        }
        ErrorCode code = switch (ex.route().kind()) {
            case UPLOADS, UPLOAD -> ErrorCode.BLOB_UPLOAD_INVALID;
            case MANIFEST -> ErrorCode.MANIFEST_INVALID;
            default -> ErrorCode.UNKNOWN;
        };
        reply(ex, Reply.of(closing(Responses.error(new HttpError(code, HttpResponseStatus.BAD_REQUEST,
                "malformed request body: " + quote(String.valueOf(content.decoderResult().cause().getMessage()), 200))))));
    }

    private void onContent(HttpContent content) {
        BodySink s = sink;
        if (s == null) {
            return;
        }
        try {
            s.content(content.content());
        } catch (RuntimeException e) {
            failSink(s, toHttpError(e));
        }
    }

    private void failSink(BodySink failed, HttpError e) {
        failed.abort();
        sink = null;
        refuse(e);
    }

    private Reply finish(BodySink s) {
        try {
            return s.finish();
        } catch (RuntimeException e) {
            s.abort();
            return Reply.of(Responses.error(toHttpError(e)));
        }
    }

    /**
     * The one mapping from a failure to what the client is told: an {@link HttpError} as it is, a storage problem by
     * its code ({@link ErrorCode#of}), anything else a logged 500 that names only the exception's class.
     */
    private HttpError toHttpError(RuntimeException e) {
        return switch (e) {
            case HttpError h -> h;
            case StorageException s -> {
                if (s.problem() == Problem.STORAGE_FULL || s.problem() == Problem.STORAGE_FAILED || s.problem() == Problem.STORAGE_UNAVAILABLE) {
                    endpoints.registry().metrics().storageError();
                }
                yield HttpError.from(s);
            }
            default -> internal(e);
        };
    }

    private HttpError internal(RuntimeException e) {
        if (e instanceof UncheckedIOException) {
            endpoints.registry().metrics().storageError();
        }
        log.error("request failed", e);
        return new HttpError(ErrorCode.UNKNOWN, "internal error: " + e.getClass().getSimpleName());
    }

    private static FullHttpResponse closing(FullHttpResponse r) {
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return r;
    }

    /** Answers before the body is read, closing gently ({@link LingeringClose}) so that the client reads the answer. */
    private FullHttpResponse closingEarly(FullHttpResponse r) {
        Exchange ex = exchange;
        if (ex != null) {
            ex.ctx().channel().attr(LingeringClose.LINGER).set(Boolean.TRUE);
        }
        return closing(r);
    }

    private void reply(Exchange ex, Reply reply) {
        ChannelHandlerContext ctx = ex.ctx();
        HttpResponse head = reply.head();
        head.headers().set(API_VERSION, "registry/2.0");
        String requestId = logContext.get(Fields.REQUEST_ID);
        if (requestId != null) {
            head.headers().set(RequestIds.HEADER, requestId);
        }
        for (Map.Entry<String, List<String>> h : endpoints.registry().config().http().headers().entrySet()) {
            head.headers().set(h.getKey(), h.getValue());
        }
        long bodyBytes = HttpUtil.getContentLength(head, 0L);
        boolean logged = endpoints.registry().config().accessLog() && access.isInfoEnabled();
        if (logged) { // before the write (and a HEAD's body is dropped): the line is in the log once the client has the answer
            AccessLine.log(access, head.status().code(), System.nanoTime() - ex.startNanos(), ex.isHead() && reply instanceof Reply.Blob ? 0 : bodyBytes,
                    head.headers().get(HttpHeaderNames.CONTENT_TYPE),
                    head.status().code() >= 400 && reply instanceof Reply.Full full ? full.head().content().toString(StandardCharsets.UTF_8) : null);
        }
        if (ex.isHead() && reply instanceof Reply.Full full) {
            // HEAD: same headers as GET, no body.
            full.head().content().clear();
        }
        ChannelFuture sent = switch (reply) {
            case Reply.Full full -> ctx.writeAndFlush(full.head());
            case Reply.Blob blob -> {
                ctx.write(head);
                if (ex.isHead() || blob.length() == 0) {
                    BlobEndpoints.closeQuietly(blob.content());
                    yield ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                } else if (ctx.pipeline().get(SslHandler.class) != null) {
                    try {
                        yield ctx.writeAndFlush(new HttpChunkedInput(new ChunkedNioFile(blob.content().channel(), blob.offset(), blob.length(), TLS_CHUNK)));
                    } catch (IOException e) {
                        BlobEndpoints.closeQuietly(blob.content());
                        throw new UncheckedIOException(e);
                    }
                } else {
                    ctx.write(new DefaultFileRegion(blob.content().channel(), blob.offset(), blob.length()));
                    yield ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                }
            }
            case Reply.Streamed streamed -> {
                ctx.write(head);
                io.netty.handler.stream.ChunkedWriteHandler chunked = ctx.pipeline().get(io.netty.handler.stream.ChunkedWriteHandler.class);
                ChannelFuture body = ctx.writeAndFlush(new HttpChunkedInput(streamed.body()));
                streamed.body().onArrival(chunked::resumeTransfer);
                // A fetch that fails midway leaves the body short of its Content-Length: the connection must go.
                body.addListener(f -> {
                    if (!f.isSuccess()) {
                        ctx.close();
                    }
                });
                yield body;
            }
        };
        responding = true;
        sent.addListener(f -> ctx.executor().execute(() -> responded(ctx)));
        uncount();
        int status = head.status().code();
        if (!ex.isHead()) {
            endpoints.registry().metrics().bytesOut(bodyBytes);
        }
        long nanos = System.nanoTime() - ex.startNanos();
        endpoints.registry().metrics().request(ex.route().kind(), ex.method().name(), status, nanos);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        BodySink s = sink;
        Exchange unanswered = exchange;
        sink = null;
        exchange = null;
        releaseBacklog();
        readAhead.closed();
        if (s != null) {
            s.abort();
            if (unanswered != null && !responding && (unanswered.route().kind() == Route.Kind.UPLOAD || unanswered.route().kind() == Route.Kind.UPLOADS)) {
                endpoints.registry().metrics().uploadAborted();
            }
        }
        releaseBlobPermit();
        uncount();
        ctx.fireChannelInactive();
    }

    private void uncount() {
        if (counted) {
            counted = false;
            endpoints.registry().metrics().requestEnded();
        }
    }

    private void releaseBacklog() {
        Object waiting;
        while ((waiting = backlog.poll()) != null) {
            ReferenceCountUtil.release(waiting);
        }
    }

    private void releaseBlobPermit() {
        if (blobPermit) {
            blobPermit = false;
            endpoints.registry().openBlobs().release();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (exchange != null && !logContext.isEmpty()) {
            MDC.setContextMap(logContext);
        }
        try {
            if (cause instanceof IOException) {
                log.debug("connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            } else {
                log.warn("connection {} failed", ctx.channel().remoteAddress(), cause);
            }
        } finally {
            MDC.clear();
        }
        ctx.close();
    }

    /**
     * A client's text made safe inside double quotes in a logfmt line: at most {@code max} characters, with
     * backslashes, quotes and control characters escaped, so no field can forge another or a new line.
     */
    static String quote(String s, int max) {
        String cut = s.length() <= max ? s : s.substring(0, max);
        StringBuilder b = new StringBuilder(cut.length() + 8);
        for (int i = 0; i < cut.length(); i++) {
            char c = cut.charAt(i);
            if (c == '\\' || c == '"') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        return cut.length() < s.length() ? b.append("…").toString() : b.toString();
    }
}
