package io.berth.server.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.server.admission.AdmissionReviews;
import io.berth.server.config.RegistryConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufInputStream;
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
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admission webhook's own TLS listener ({@code berth.admission}): {@code POST} of an {@code AdmissionReview} to any
 * path is answered by {@link AdmissionReviews}; {@code GET /healthz} is 200 for probes. Reviews are answered on their
 * own small executor group, so a slow disk read for a verdict never holds an I/O thread, and bodies are capped at
 * 4 MiB (the API server sends at most 3 MiB objects).
 */
public final class AdmissionServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdmissionServer.class);
    private static final int MAX_REVIEW_BYTES = 4 << 20;

    private final Channel channel;
    private final io.netty.channel.group.ChannelGroup connections;
    private final RequestExecutors reviewers;

    private AdmissionServer(Channel channel, io.netty.channel.group.ChannelGroup connections, RequestExecutors reviewers) {
        this.channel = channel;
        this.connections = connections;
        this.reviewers = reviewers;
    }

    /** Binds {@code admission}'s address on the given loops; {@link #close} unbinds it. */
    public static AdmissionServer start(RegistryConfig.Admission admission, AdmissionReviews reviews, EventLoopGroup boss,
            EventLoopGroup workers, Class<? extends ServerChannel> channelType, java.time.Clock clock, MeterRegistry meters) throws InterruptedException {
        TlsSupport tls = new TlsSupport(admission.tls(), clock); // the webhook is always TLS: the API server demands it
        tls.watchExpiry(meters, "admission");
        // Reviews read signatures from storage, or from another registry over the network: they may block, so they
        // run on a growing pool, in order per connection, as registry requests do.
        RequestExecutors reviewers = new RequestExecutors(64);
        Handler handler = new Handler(reviews, meters);
        io.netty.channel.group.ChannelGroup connections = new io.netty.channel.group.DefaultChannelGroup("berth-admission",
                io.netty.util.concurrent.GlobalEventExecutor.INSTANCE);
        try {
            Channel channel = new ServerBootstrap()
                    .group(boss, workers)
                    .channel(channelType)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            connections.add(ch);
                            ch.pipeline().addLast("detect-tls", tls.newDetector())
                                    .addLast("idle", new IdleStateHandler(0, 0, 2, TimeUnit.MINUTES))
                                    .addLast("http", new HttpServerCodec())
                                    .addLast("keep-alive", new HttpServerKeepAliveHandler())
                                    .addLast("aggregate", new HttpObjectAggregator(MAX_REVIEW_BYTES))
                                    .addLast(reviewers.group(), "review", handler);
                        }
                    })
                    .bind(admission.addr()).sync().channel();
            InetSocketAddress bound = (InetSocketAddress) channel.localAddress();
            log.info("admission webhook listening on https://{}:{} for images from {}", bound.getHostString(), bound.getPort(), admission.hosts());
            return new AdmissionServer(channel, connections, reviewers);
        } catch (InterruptedException | RuntimeException e) {
            reviewers.close();
            throw e;
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        // The API server keeps its connections open: close them while the reviewers still run their last hops.
        connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        reviewers.close();
    }

    @ChannelHandler.Sharable
    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final AdmissionReviews reviews;
        private final Counter allowed;
        private final Counter denied;
        private final Timer reviewTime;

        Handler(AdmissionReviews reviews, MeterRegistry meters) {
            this.reviews = reviews;
            this.allowed = decisions(meters, "allowed");
            this.denied = decisions(meters, "denied");
            this.reviewTime = Timer.builder("berth.admission.review")
                    .description("time to answer an AdmissionReview, signature checks included")
                    .publishPercentileHistogram()
                    .maximumExpectedValue(java.time.Duration.ofSeconds(30))
                    .register(meters);
        }

        private static Counter decisions(MeterRegistry meters, String decision) {
            return Counter.builder("berth.admission.reviews").tag("decision", decision)
                    .description("AdmissionReviews answered, by decision").register(meters);
        }

        private ObjectNode review(JsonNode review) {
            long start = System.nanoTime();
            ObjectNode answer = reviews.answer(review);
            reviewTime.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            (answer.path("response").path("allowed").asBoolean(false) ? allowed : denied).increment();
            return answer;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            String path = request.uri().split("\\?", 2)[0];
            FullHttpResponse response;
            if (request.method().equals(HttpMethod.GET) && path.equals("/healthz")) {
                response = Responses.json(HttpResponseStatus.OK, Map.of("status", "ok"));
            } else if (!request.method().equals(HttpMethod.POST)) {
                response = Responses.error(new HttpError(ErrorCode.UNSUPPORTED, "POST an AdmissionReview"));
            } else {
                JsonNode review;
                try (ByteBufInputStream in = new ByteBufInputStream(request.content())) {
                    review = Responses.JSON.readTree((java.io.InputStream) in);
                } catch (JsonProcessingException e) {
                    review = null;
                } catch (IOException e) {
                    review = null;
                }
                response = review == null || !review.isObject()
                        ? Responses.error(new HttpError(ErrorCode.UNKNOWN, HttpResponseStatus.BAD_REQUEST, "the body is not an AdmissionReview"))
                        : Responses.json(HttpResponseStatus.OK, review(review));
            }
            ctx.writeAndFlush(response);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("admission connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }
}
