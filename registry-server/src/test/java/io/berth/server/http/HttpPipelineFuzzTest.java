package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import io.berth.server.config.RegistryConfig;
import io.berth.storage.Digest;
import io.berth.storage.RegistryStorage;
import io.berth.storage.RepositoryName;
import io.berth.storage.Upload;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.ResourceLeakDetector;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.slf4j.LoggerFactory;

/**
 * Fuzzes the whole HTTP side of the registry: raw bytes from a client go through the same handlers as
 * {@link RegistryServer}'s pipeline (codec with the server's limits, keep-alive, 100-continue, chunked writes, the
 * read-ahead and the registry handler), over an EmbeddedChannel, with temporary storage that holds one tagged image.
 * For any input: no exception escapes the pipeline, no 500 is sent, each 4xx has the JSON error body, each full
 * response's Content-Length is its body's length, and no ByteBuf leaks (the paranoid leak detector's reports fail the
 * test). Seeds: {@code src/test/resources/io/berth/server/http/HttpPipelineFuzzTestInputs/}.
 *
 * <p>The connection gate, PROXY protocol, TLS detection and the idle and header timers are left out: they need a
 * real socket or the clock, and none of them parses a request.
 */
class HttpPipelineFuzzTest {
    /** The image every run can read: {@code team/app:v1}, its config blob and the manifest's digest. */
    static final String REPOSITORY = "team/app";
    static final byte[] CONFIG = "{}".getBytes(StandardCharsets.UTF_8);
    static final Digest CONFIG_DIGEST = Digest.sha256(CONFIG);

    private static final List<String> LEAKS = new CopyOnWriteArrayList<>();
    /** A password that the htpasswd of the authenticated registry holds for {@code fuzz} and {@code ci}. */
    static final String PASSWORD = "fuzz";
    /** When leaks were last looked for: a full GC per input would slow fuzzing a hundredfold, so every 2 s and at the end. */
    private static long lastLeakCheck;

    @FuzzTest
    void anyBytesFromAClientGetWellFormedAnswersAndLeakNothing(FuzzedDataProvider data) {
        serve(Open.REGISTRY, data);
    }

    /**
     * The same with htpasswd auth and access rules ({@code fuzz} may pull, {@code ci} may push {@code team/*}, with
     * password {@value #PASSWORD}; tags {@code v*} are immutable): Basic credentials, scopes and refusals.
     */
    @FuzzTest
    void anyBytesFromAClientOfAnAuthenticatedRegistryGetWellFormedAnswersAndLeakNothing(FuzzedDataProvider data) {
        serve(Authenticated.REGISTRY, data);
    }

    private static void serve(Registry registry, FuzzedDataProvider data) {
        List<ByteBuf> sent = new ArrayList<>();
        Exchanges seen = new Exchanges();
        EmbeddedChannel channel = registry.connection(seen);
        try {
            while (data.remainingBytes() > 0 && channel.isOpen()) {
                // The input arrives in reads of the fuzzer's choosing, as TCP may split it.
                byte[] read = data.consumeBytes(data.consumeInt(1, 4096));
                if (read.length == 0) {
                    break; // the length took the last bytes
                }
                ByteBuf buf = Unpooled.copiedBuffer(read);
                sent.add(buf);
                channel.writeInbound(buf);
                channel.runPendingTasks();
            }
            channel.runPendingTasks();
            drainOutbound(channel);
            channel.checkException(); // an exception that reached the pipeline's end
        } finally {
            channel.close();
            channel.runPendingTasks();
            channel.finishAndReleaseAll();
            registry.storage.purgeIdleUploads(Duration.ZERO);
        }
        assertThat(sent).allSatisfy(b -> assertThat(b.refCnt()).as("an input buffer was not released").isZero());
        seen.check();
        checkLeaks(System.nanoTime() - lastLeakCheck > 2_000_000_000L);
    }

    /** The leaks of the last inputs, which no periodic check saw (and all of them, when only the seeds run). */
    @AfterAll
    static void noBufferLeaked() {
        checkLeaks(true);
    }

    /** Reads what the server wrote, releasing it; a file region (a blob sent with sendfile) is read to the end. */
    private static void drainOutbound(EmbeddedChannel channel) {
        for (Object out; (out = channel.readOutbound()) != null; ) {
            try {
                if (out instanceof FileRegion region) {
                    assertThat(region.transferred()).isZero();
                    assertThat(region.count()).isPositive();
                }
            } finally {
                io.netty.util.ReferenceCountUtil.release(out);
            }
        }
    }

    private static void checkLeaks(boolean now) {
        if (now) {
            lastLeakCheck = System.nanoTime();
            // Leaked buffers are reported when they are collected and the detector next tracks a buffer.
            System.gc();
            for (int i = 0; i < 64; i++) {
                Unpooled.directBuffer(8).release();
                io.netty.buffer.PooledByteBufAllocator.DEFAULT.buffer(8).release();
            }
        }
        assertThat(LEAKS).as("Netty's leak detector reported leaked buffers").isEmpty();
    }

    /** What went past the codec: each request's method, and each response with its body as sent. */
    private static final class Exchanges extends ChannelDuplexHandler {
        private final Queue<HttpMethod> methods = new ArrayDeque<>();
        private final List<String> problems = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest request) {
                methods.add(request.method()); // a head that failed to decode keeps its method, or is a GET
            }
            ctx.fireChannelRead(msg);
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof HttpResponse response) {
                inspect(response);
            }
            ctx.write(msg, promise);
        }

        private void inspect(HttpResponse response) {
            int status = response.status().code();
            if (status == 100) {
                return; // an interim answer to Expect: 100-continue; the request's own answer follows
            }
            HttpMethod method = methods.poll();
            String what = method + " → " + response.status();
            if (status >= 500) {
                problems.add(what + ": a server error for a client's input");
            }
            if (!(response instanceof FullHttpResponse full)) {
                return; // a blob: headers, then a file region or chunks
            }
            int length = full.content().readableBytes();
            String declared = full.headers().get(HttpHeaderNames.CONTENT_LENGTH);
            boolean head = HttpMethod.HEAD.equals(method);
            if (declared == null || (!head && !declared.equals(Integer.toString(length)))) {
                problems.add(what + ": Content-Length " + declared + " for a body of " + length + " bytes");
            }
            if (status >= 400 && !head) {
                String body = full.content().toString(StandardCharsets.UTF_8);
                try {
                    JsonNode error = Responses.JSON.readTree(ByteBufUtil.getBytes(full.content())).path("errors").path(0);
                    if (!error.path("code").isTextual() || !error.path("message").isTextual()) {
                        problems.add(what + ": not the JSON error body: " + body);
                    }
                } catch (IOException e) {
                    problems.add(what + ": not the JSON error body: " + body);
                }
            }
        }

        void check() {
            assertThat(problems).isEmpty();
        }
    }

    /** The registry without auth, made on first use. */
    private static final class Open {
        static final Registry REGISTRY = Registry.open("");
    }

    /** The registry with htpasswd auth, access rules and immutable tags, made on first use. */
    private static final class Authenticated {
        static final Registry REGISTRY = Registry.open("""
                auth:
                  htpasswd:
                    realm: fuzz
                    path: $HTPASSWD
                berth:
                  access:
                    - account: fuzz
                      repositories: ["**"]
                      actions: [pull]
                    - account: ci
                      repositories: ["team/*"]
                      actions: [pull, push, delete]
                  immutableTags:
                    - repositories: ["**"]
                      tags: ["v*"]
                """);
    }

    /** Temporary storage with one image, and the server's pipeline over an EmbeddedChannel for each connection. */
    private record Registry(RegistryStorage storage, Endpoints endpoints) {
        /** A registry on temporary storage, with {@code yaml} (storage and listener excepted) as its configuration. */
        static Registry open(String yaml) {
            Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
            root.setLevel(Level.WARN); // a fuzzer's requests are mostly refused: no log line per request
            watchForLeaks();
            try {
                Path dir = Files.createTempDirectory("berth-fuzz-");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
                Path data = Files.createDirectory(dir.resolve("data"));
                Path htpasswd = dir.resolve("htpasswd");
                String hash = org.bouncycastle.crypto.generators.OpenBSDBCrypt.generate("2y",
                        PASSWORD.getBytes(StandardCharsets.UTF_8), new byte[16], 4);
                Files.writeString(htpasswd, "fuzz:" + hash + "\nci:" + hash + "\n");
                Path file = dir.resolve("config.yml");
                Files.writeString(file, "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: " + data
                        + "\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n"
                        + yaml.replace("$HTPASSWD", htpasswd.toString()));
                RegistryConfig config = io.berth.server.config.ConfigLoader.load(file, java.util.Map.of());
                RegistryStorage storage = RegistryStorage.open(data);
                storage.limitOpenUploads(config.limits().uploadsMaxOpen());
                seed(storage);
                return new Registry(storage, new Endpoints(new RegistryContext(storage, config, new ServerMetrics(new SimpleMeterRegistry()), java.time.Clock.systemUTC())));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static void deleteTree(Path dir) {
            try (var paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException | UncheckedIOException e) {
                // a temporary directory left behind is not worth failing a finished run for
            }
        }

        /** Netty's leak reports, which it logs, go to {@link #LEAKS}. */
        private static synchronized void watchForLeaks() {
            Logger leaks = (Logger) LoggerFactory.getLogger(ResourceLeakDetector.class);
            if (leaks.getAppender("fuzz-leaks") != null) {
                return;
            }
            AppenderBase<ILoggingEvent> recorder = new AppenderBase<>() {
                @Override
                protected void append(ILoggingEvent event) {
                    if (event.getLevel().isGreaterOrEqual(Level.ERROR)) {
                        LEAKS.add(event.getFormattedMessage());
                    }
                }
            };
            recorder.setName("fuzz-leaks");
            recorder.setContext(leaks.getLoggerContext());
            recorder.start();
            leaks.addAppender(recorder);
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        }

        private static void seed(RegistryStorage storage) {
            RepositoryName name = RepositoryName.of(REPOSITORY);
            try (Upload upload = storage.startUpload(name)) {
                upload.write(new java.nio.ByteBuffer[] {java.nio.ByteBuffer.wrap(CONFIG)}, Long.MAX_VALUE);
                upload.commit(CONFIG_DIGEST);
            }
            String manifest = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                    + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" + CONFIG_DIGEST
                    + "\",\"size\":" + CONFIG.length + "},\"layers\":[]}";
            storage.putManifest(name, manifest.getBytes(StandardCharsets.UTF_8), null, null, List.of(io.berth.storage.Tag.of("v1")));
        }

        /** The handlers {@link RegistryServer} puts on a plain-HTTP connection, with {@code seen} just above the codec. */
        EmbeddedChannel connection(Exchanges seen) {
            ReadAhead readAhead = new ReadAhead(ReadAhead.Budget.unlimited());
            EmbeddedChannel channel = new EmbeddedChannel(
                    new HttpServerCodec(new HttpDecoderConfig()
                            .setMaxInitialLineLength(16 * 1024)
                            .setMaxHeaderSize(64 * 1024)
                            .setMaxChunkSize(1 << 20)),
                    seen,
                    new HttpServerKeepAliveHandler(),
                    new HttpServerExpectContinueHandler(),
                    new ChunkedWriteHandler(),
                    readAhead.ioSide(),
                    new RegistryHandler(endpoints, readAhead));
            channel.runPendingTasks();
            return channel;
        }
    }
}
