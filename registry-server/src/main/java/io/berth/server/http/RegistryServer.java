package io.berth.server.http;

import io.berth.server.config.RegistryConfig;
import io.berth.server.events.Notifier;
import io.berth.server.proxy.PullThroughCache;
import io.berth.server.proxy.Upstream;
import io.berth.server.gc.OnlineGc;
import io.berth.storage.RegistryStorage;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry's HTTP listener, and its debug listener when configured. The execution model, in one place:
 * <ul>
 * <li>the event loops (one per core) only move bytes: TLS, HTTP framing, sendfile;</li>
 * <li>each connection's requests are handled in order on a shared, growing pool of threads ({@link RequestExecutors}),
 *     so that a request that blocks on the disk or on bcrypt holds up its own connection and no other;</li>
 * <li>what the connections have read and not yet handled is bounded per connection and in all ({@link ReadAhead});</li>
 * <li>online garbage collection ({@code berth.gc}) runs on a thread of its own;</li>
 * <li>periodic work (upload purging, the storage health probe) runs on one maintenance thread, and the probe
 *     itself on a thread of its own with a timeout, so a hung volume makes the registry unhealthy, not unresponsive.</li>
 * </ul>
 */
public final class RegistryServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RegistryServer.class);
    private static final int MAX_CHUNK = 1 << 20;
    private static final int IDLE_MINUTES = 5;

    /**
     * Closes a connection once {@link IdleStateHandler} reports it idle both ways, or reports no write progress
     * while a response waits to be sent: a client that stops reading is dropped after the write timeout, while an
     * idle kept-alive connection, with nothing to send, is not.
     */
    @io.netty.channel.ChannelHandler.Sharable
    private static final class CloseIdle extends io.netty.channel.ChannelInboundHandlerAdapter {
        static final CloseIdle INSTANCE = new CloseIdle();

        @Override
        public void userEventTriggered(io.netty.channel.ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof io.netty.handler.timeout.IdleStateEvent e) {
                var pending = ctx.channel().unsafe().outboundBuffer();
                boolean stalled = pending != null && pending.totalPendingWriteBytes() > 0;
                if (e.state() == io.netty.handler.timeout.IdleState.ALL_IDLE || stalled) {
                    log.debug("closing {} connection {}", stalled ? "stalled" : "idle", ctx.channel().remoteAddress());
                    ctx.close();
                }
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }
    }

    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final RequestExecutors requests;
    private final ScheduledExecutorService maintenance;
    private final Channel channel;
    private final ChannelGroup connections;
    private final DebugServer debug;
    private final @org.jspecify.annotations.Nullable AdmissionServer admissions;
    private final @org.jspecify.annotations.Nullable OnlineGc gc;
    private final RuntimeMetrics runtime;
    private final Notifier notifier;
    private final List<PullThroughCache> proxies;

    private RegistryServer(EventLoopGroup boss, EventLoopGroup workers, RequestExecutors requests, ScheduledExecutorService maintenance,
            Channel channel, ChannelGroup connections, DebugServer debug, @org.jspecify.annotations.Nullable AdmissionServer admissions,
            @org.jspecify.annotations.Nullable OnlineGc gc, RuntimeMetrics runtime, Notifier notifier,
            List<PullThroughCache> proxies) {
        this.notifier = notifier;
        this.proxies = proxies;
        this.admissions = admissions;
        this.gc = gc;
        this.runtime = runtime;
        this.boss = boss;
        this.workers = workers;
        this.requests = requests;
        this.maintenance = maintenance;
        this.channel = channel;
        this.connections = connections;
        this.debug = debug;
    }

    /**
     * Binds the listeners described by {@code config} and starts serving {@code storage}, with {@code clock} for every
     * time the server reads (tokens, login limits, certificate reloads). The only place the server is assembled.
     */
    public static RegistryServer start(RegistryConfig config, RegistryStorage storage, MeterRegistry meters, java.time.Clock clock)
            throws InterruptedException {
        if (!config.proxies().isEmpty()) {
            Upstream.preferLargeReads();
        }
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        Class<? extends ServerChannel> channelType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, io);
        EventLoopGroup workers = new MultiThreadIoEventLoopGroup(0, io);
        RequestExecutors requests = new RequestExecutors(config.limits().requestThreads());
        Notifier notifier = null;
        List<PullThroughCache> proxies = new java.util.ArrayList<>();
        ScheduledExecutorService maintenance = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("berth-maintenance").daemon().factory());
        try {
            storage.limitOpenUploads(config.limits().uploadsMaxOpen());
            storage.readOnly(config.storage().readOnly());
            notifier = Notifier.start(config.notifications(), notificationSpool(storage), config.notifications().spoolMaxBytes(), meters);
            for (RegistryConfig.Proxy p : config.proxies()) {
                proxies.add(new PullThroughCache(p.prefix(), storage, Upstream.of(p.remoteUrl(), p.username(), p.password(), clock),
                        p.ttl(), p.stallTimeout(), clock));
                log.info("{} a pull-through cache of {}; pushes there are refused",
                        p.prefix().isEmpty() ? "the registry is" : "repositories under " + p.prefix() + "/ are", p.remoteUrl());
            }
            RegistryContext context = new RegistryContext(storage, config, new ServerMetrics(meters), clock, notifier, List.copyOf(proxies));
            ChannelGroup connections = new DefaultChannelGroup("berth-connections", GlobalEventExecutor.INSTANCE);
            TlsSupport tls = TlsSupport.of(config.http().tls(), clock);
            if (tls != null) {
                tls.watchExpiry(meters, "http");
            }
            RegistryConfig.Limits limits = config.limits();
            ConnectionGate gate = new ConnectionGate(limits.maxConnections(), limits.maxConnectionsPerClient(), context.clients());
            long writeTimeoutMillis = limits.writeTimeout().toMillis();
            ReadAhead.Budget inFlight = new ReadAhead.Budget(limits.inFlightBytes());
            context.metrics().watch(inFlight);
            Endpoints endpoints = new Endpoints(context);
            ServerBootstrap b = new ServerBootstrap()
                    .group(boss, workers)
                    .channel(channelType)
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    // Room for two TLS download chunks in flight before the writer waits.
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1 << 20, 2 << 20))
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            connections.add(ch);
                            ChannelPipeline p = ch.pipeline();
                            p.addLast("gate", gate);
                            if (context.clients().isTrusted(ch.remoteAddress() == null ? null : ch.remoteAddress().getAddress())) {
                                p.addLast("proxy-protocol", new ProxyProtocol(gate));
                            }
                            if (tls != null) {
                                p.addLast("detect-tls", tls.newDetector());
                            }
                            // A client that neither sends nor receives for 5 minutes (a stalled upload, say) is dropped,
                            // which releases its upload; output progress counts, so slow downloads keep going. One that
                            // lets a response make no progress for the write timeout is dropped sooner.
                            p.addLast("idle", new IdleStateHandler(true, 0, writeTimeoutMillis, IDLE_MINUTES * 60_000L, TimeUnit.MILLISECONDS));
                            p.addLast("close-idle", CloseIdle.INSTANCE);
                            HeaderTimeout headerTimeout = new HeaderTimeout(limits.headerTimeout());
                            p.addLast("header-timeout", headerTimeout.bytesSide());
                            p.addLast("linger", LingeringClose.INSTANCE);
                            p.addLast("http", new HttpServerCodec(new HttpDecoderConfig()
                                    .setMaxInitialLineLength(16 * 1024)
                                    .setMaxHeaderSize(64 * 1024)
                                    .setMaxChunkSize(MAX_CHUNK)));
                            p.addLast("header-timeout-end", headerTimeout.requestsSide());
                            p.addLast("keep-alive", new HttpServerKeepAliveHandler());
                            p.addLast("continue", new HttpServerExpectContinueHandler());
                            p.addLast("chunked", new ChunkedWriteHandler());
                            ReadAhead readAhead = new ReadAhead(inFlight);
                            p.addLast("read-ahead", readAhead.ioSide());
                            p.addLast(requests.group(), "registry", new RegistryHandler(endpoints, readAhead));
                        }
                    });
            Channel channel = b.bind(config.http().addr()).sync().channel();
            context.bound(((InetSocketAddress) channel.localAddress()).getPort());
            log.info("listening on {} ({} transport)", channel.localAddress(), epoll ? "epoll" : "nio");
            DebugServer debug = DebugServer.start(config, storage, meters, boss, workers, channelType, maintenance);
            RegistryConfig.Admission admission = config.trust().admission();
            AdmissionServer admissions = admission == null ? null : AdmissionServer.start(admission,
                    new io.berth.server.admission.AdmissionReviews(admission.hosts(), context.verdicts()), boss, workers, channelType, clock, meters);
            RegistryConfig.UploadPurging purging = config.storage().purging();
            if (purging.enabled() && !config.storage().readOnly()) {
                long every = Math.max(purging.interval().toMillis(), 1000);
                maintenance.scheduleWithFixedDelay(() -> purge(storage, purging), Math.min(every, 60_000), every, TimeUnit.MILLISECONDS);
            }
            if (!config.storage().readOnly()) {
                // Abandoned uploads give their berth.uploads.maxOpen slots back after the idle timeout, checked
                // about ten times per timeout, at least every second and at most every five minutes.
                long every = Math.clamp(limits.uploadsIdleTimeout().toMillis() / 10, 1000L, 300_000L);
                maintenance.scheduleWithFixedDelay(() -> purgeIdle(storage, limits.uploadsIdleTimeout()), every, every, TimeUnit.MILLISECONDS);
            }
            // berth.gc: collections on a thread of their own while pushes go on; never on a read-only volume.
            OnlineGc gc = config.storage().readOnly() ? null : OnlineGc.start(config.gc(), storage, meters, clock);
            RuntimeMetrics runtime = RuntimeMetrics.bind(meters, storage, maintenance);
            return new RegistryServer(boss, workers, requests, maintenance, channel, connections, debug, admissions, gc, runtime, notifier, List.copyOf(proxies));
        } catch (InterruptedException | RuntimeException e) {
            if (notifier != null) {
                notifier.close();
            }
            proxies.forEach(PullThroughCache::close);
            boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            maintenance.shutdownNow();
            requests.close();
            throw e;
        }
    }

    private static void purge(RegistryStorage storage, RegistryConfig.UploadPurging purging) {
        try {
            if (purging.dryRun()) {
                log.info("upload purging is in dry-run mode; nothing deleted");
            } else {
                int n = storage.purgeUploads(purging.age());
                if (n > 0) {
                    log.info("purged {} stale uploads", n);
                }
            }
        } catch (RuntimeException e) {
            log.warn("upload purging failed", e);
        }
    }

    private static void purgeIdle(RegistryStorage storage, java.time.Duration idle) {
        try {
            int n = storage.purgeIdleUploads(idle);
            if (n > 0) {
                log.info("purged {} uploads idle for {}", n, idle);
            }
        } catch (RuntimeException e) {
            log.warn("idle upload purging failed", e);
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** The debug listener's address, or null when {@code http.debug.addr} is not set. */
    public @org.jspecify.annotations.Nullable InetSocketAddress debugAddress() {
        return debug.address();
    }

    /** The admission webhook's address, or null when {@code berth.admission} is not configured. */
    public @org.jspecify.annotations.Nullable InetSocketAddress admissionAddress() {
        return admissions == null ? null : admissions.address();
    }

    @Override
    public void close() {
        if (gc != null) {
            gc.close();
        }
        runtime.close();
        channel.close().syncUninterruptibly();
        debug.close();
        if (admissions != null) {
            admissions.close();
        }
        maintenance.shutdownNow();
        // Close connections while their event loops still run, so every handler sees channelInactive.
        connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        // A closed pipeline is torn down by hopping between its request executor and its event loop;
        // the pool waits for those last hops to run instead of rejecting them.
        requests.close();
        // After the request threads: the events of the last requests are queued, and go to the spools for the next start.
        notifier.close();
        proxies.forEach(PullThroughCache::close);
        var bossDone = boss.shutdownGracefully(50, 2000, TimeUnit.MILLISECONDS);
        var workersDone = workers.shutdownGracefully(50, 2000, TimeUnit.MILLISECONDS);
        bossDone.syncUninterruptibly();
        workersDone.syncUninterruptibly();
    }

    /**
     * Where undelivered events wait: beside the registry's data on a filesystem volume, so they survive a restart; on
     * an object store, which has no append, in this replica's temporary directory (an emptyDir in Kubernetes), so
     * each replica delivers the events of the requests it served.
     */
    private static java.nio.file.Path notificationSpool(RegistryStorage storage) {
        if (storage instanceof io.berth.storage.FileStorage files) {
            return files.root().resolve("docker/registry/v2/_berth/notifications");
        }
        return java.nio.file.Path.of(System.getProperty("java.io.tmpdir"), "berth-notifications-" + Integer.toHexString(storage.describe().hashCode()));
    }

}
