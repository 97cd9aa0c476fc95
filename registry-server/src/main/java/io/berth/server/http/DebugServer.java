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
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
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

    static DebugServer start(RegistryConfig config, RegistryStorage storage, MeterRegistry meters, EventLoopGroup boss,
            EventLoopGroup workers, Class<? extends ServerChannel> channelType) throws InterruptedException {
        InetSocketAddress addr = config.http().debugAddr();
        if (addr == null) {
            return new DebugServer(null, null);
        }
        StorageHealth health = new StorageHealth(storage, config.health().threshold());
        ScheduledFuture<?> checks = config.health().enabled()
                ? workers.scheduleAtFixedRate(health::check, 0, Math.max(config.health().interval().toMillis(), 100), TimeUnit.MILLISECONDS)
                : null;
        Handler handler = new Handler(health, config.http().prometheusPath(), meters);
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

    /** Counts consecutive failed storage probes. */
    static final class StorageHealth {
        private final RegistryStorage storage;
        private final int threshold;
        private volatile int failures;
        private volatile @Nullable String lastError;

        StorageHealth(RegistryStorage storage, int threshold) {
            this.storage = storage;
            this.threshold = Math.max(threshold, 1);
        }

        void check() {
            try {
                storage.checkHealth();
                failures = 0;
            } catch (Exception e) {
                lastError = e.toString();
                failures++;
                log.warn("storage health check failed ({} in a row): {}", failures, e.toString());
            }
        }

        @Nullable String problem() {
            return failures >= threshold ? lastError : null;
        }
    }

    @ChannelHandler.Sharable
    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final StorageHealth health;
        private final @Nullable String prometheusPath;
        private final MeterRegistry meters;

        Handler(StorageHealth health, @Nullable String prometheusPath, MeterRegistry meters) {
            this.health = health;
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
                        : Responses.json(HttpResponseStatus.SERVICE_UNAVAILABLE, Map.of("storagedriver_filesystem", problem));
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
