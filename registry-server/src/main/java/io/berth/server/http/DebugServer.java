package io.berth.server.http;

import io.berth.server.config.RegistryConfig;
import io.berth.storage.RegistryStorage;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * registry:2's debug listener ({@code http.debug.addr}): {@code /debug/health}, 503 once storage
 * checks fail {@code threshold} times in a row, and the Prometheus scrape endpoint.
 */
final class DebugServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DebugServer.class);

    private final @Nullable Channel channel;
    private final @Nullable ScheduledFuture<?> checks;

    private DebugServer(@Nullable Channel channel, @Nullable ScheduledFuture<?> checks) {
        this.channel = channel;
        this.checks = checks;
    }

    /** Starts the debug listener, if configured, with its storage health checks ticking on {@code maintenance}. */
    static DebugServer start(RegistryConfig config, RegistryStorage storage, MeterRegistry meters, EventLoopGroup boss,
            EventLoopGroup workers, Class<? extends ServerChannel> channelType, ScheduledExecutorService maintenance) throws InterruptedException {
        InetSocketAddress addr = config.http().debugAddr();
        if (addr == null) {
            return new DebugServer(null, null);
        }
        long intervalMillis = Math.max(config.health().interval().toMillis(), 100);
        StorageHealth health = new StorageHealth(storage::checkHealth, config.health().threshold(),
                java.time.Duration.ofMillis(intervalMillis), System::nanoTime);
        ScheduledFuture<?> checks = config.health().enabled()
                ? maintenance.scheduleAtFixedRate(health::check, 0, intervalMillis, TimeUnit.MILLISECONDS)
                : null;
        if (checks != null) {
            io.micrometer.core.instrument.Gauge.builder("berth.storage.healthy", health, h -> h.problem() == null ? 1 : 0)
                    .description("1 while the storage health check passes (health.storagedriver), 0 once it has failed threshold times in a row")
                    .register(meters);
        }
        // registry:2 names the check after its driver
        String checkName = config.storage().s3() != null ? "storagedriver_s3" : "storagedriver_filesystem";
        Handler handler = new Handler(health, checkName, config.http().prometheusPath(), meters);
        Channel channel = new ServerBootstrap()
                .group(boss, workers)
                .channel(channelType)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpServerKeepAliveHandler(), new HttpObjectAggregator(8192), handler);
                    }
                })
                .bind(addr).sync().channel();
        log.info("debug server listening on {}", channel.localAddress());
        return new DebugServer(channel, checks);
    }

    @Nullable InetSocketAddress address() {
        return channel == null ? null : (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        if (checks != null) {
            checks.cancel(false);
        }
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
    }

    /**
     * Counts consecutive failed storage probes. The probe, which writes and deletes a file, runs on a daemon thread
     * of its own (not a virtual one: a call stuck in the file system would pin its carrier); {@link #check()} never waits for it. A probe still running a whole interval after it started counts
     * as a failure at every check until it returns, and no second probe starts meanwhile: a hung volume turns the
     * registry unhealthy instead of stalling the thread that checks, or piling up stuck probes.
     */
    static final class StorageHealth {
        interface Probe {
            void run() throws Exception;
        }

        private final Probe probe;
        private final int threshold;
        private final long timeoutNanos;
        private final java.util.function.LongSupplier nanoTime;
        private int failures;
        private @Nullable String lastError;
        private boolean running;
        private long startedNanos;

        StorageHealth(Probe probe, int threshold, java.time.Duration timeout, java.util.function.LongSupplier nanoTime) {
            this.probe = probe;
            this.threshold = Math.max(threshold, 1);
            this.timeoutNanos = timeout.toNanos();
            this.nanoTime = nanoTime;
        }

        /** One tick: starts a probe unless one is running, and counts a failure if that one has run past the timeout. */
        synchronized void check() {
            if (running) {
                long ranNanos = nanoTime.getAsLong() - startedNanos;
                if (ranNanos >= timeoutNanos) {
                    failed("the storage probe has not returned after " + java.time.Duration.ofNanos(ranNanos).toMillis() + " ms");
                }
                return;
            }
            running = true;
            startedNanos = nanoTime.getAsLong();
            Thread.ofPlatform().daemon().name("berth-health-probe").start(this::probe);
        }

        private void probe() {
            Exception failure = null;
            try {
                probe.run();
            } catch (Exception e) {
                failure = e;
            }
            synchronized (this) {
                running = false;
                if (failure == null) {
                    failures = 0;
                } else {
                    failed(failure.toString());
                }
            }
        }

        private void failed(String why) {
            lastError = why;
            failures++;
            log.warn("storage health check failed ({} in a row): {}", failures, why);
        }

        /** Whether a probe is running now. */
        synchronized boolean probing() {
            return running;
        }

        synchronized @Nullable String problem() {
            return failures >= threshold ? lastError : null;
        }
    }

    @ChannelHandler.Sharable
    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final StorageHealth health;
        private final String healthCheckName;
        private final @Nullable String prometheusPath;
        private final MeterRegistry meters;

        Handler(StorageHealth health, String healthCheckName, @Nullable String prometheusPath, MeterRegistry meters) {
            this.health = health;
            this.healthCheckName = healthCheckName;
            this.prometheusPath = prometheusPath;
            this.meters = meters;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            String path = request.uri().split("\\?", 2)[0];
            FullHttpResponse response;
            if (path.equals("/debug/health")) {
                String problem = health.problem();
                response = problem == null
                        ? Responses.json(HttpResponseStatus.OK, Map.of())
                        : Responses.json(HttpResponseStatus.SERVICE_UNAVAILABLE, Map.of(healthCheckName, problem));
            } else if (path.equals(prometheusPath) && meters instanceof PrometheusMeterRegistry prometheus) {
                response = Responses.bytes(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                        prometheus.scrape().getBytes(StandardCharsets.UTF_8));
            } else {
                response = Responses.error(new HttpError(ErrorCode.NOT_FOUND, "no such debug endpoint"));
            }
            response.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
            ctx.writeAndFlush(response);
        }
    }
}
