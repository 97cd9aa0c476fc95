package io.berth.server.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.ProtocolDetectionResult;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import java.net.InetAddress;
import java.util.List;

/**
 * The PROXY protocol, v1 (text) or v2 (binary), as HAProxy and nginx ({@code proxy_protocol on}) send it ahead of the
 * client's bytes. Installed only on connections from a trusted proxy ({@code berth.trustedProxies}), where it is
 * optional: a connection that starts with anything else is passed on untouched. The source address of a
 * {@code PROXY} header becomes the connection's client ({@link ClientAddresses#PROXIED}); then {@code onClient} runs,
 * so that per-client connection caps count the real client.
 */
final class ProxyProtocol extends ByteToMessageDecoder {
    /** Told the client a PROXY header named, once per connection. */
    interface Listener {
        void onClient(ChannelHandlerContext ctx, InetAddress client);
    }

    private final Listener listener;

    ProxyProtocol(Listener listener) {
        this.listener = listener;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        ProtocolDetectionResult<HAProxyProtocolVersion> detected = HAProxyMessageDecoder.detectProtocol(in);
        switch (detected.state()) {
            case NEEDS_MORE_DATA -> {
                // wait: ByteToMessageDecoder asks for another read when auto-read is off
            }
            case INVALID -> ctx.pipeline().remove(this); // not a PROXY header: the cumulated bytes go on as they are
            case DETECTED -> {
                String name = ctx.name();
                ctx.pipeline().addAfter(name, "proxy-header", new HAProxyMessageDecoder());
                ctx.pipeline().addAfter("proxy-header", "proxy-client", new Header(listener));
                ctx.pipeline().remove(this);
            }
        }
    }

    /** Takes the decoded header; the decoder removes itself after one, and this handler goes with it. */
    private static final class Header extends ChannelInboundHandlerAdapter {
        private final Listener listener;

        Header(Listener listener) {
            this.listener = listener;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof HAProxyMessage header)) {
                ctx.fireChannelRead(msg);
                return;
            }
            try {
                // LOCAL (a proxy's health check) and UNKNOWN families carry no client: the proxy is the peer.
                InetAddress client = header.command() == HAProxyCommand.PROXY && header.sourceAddress() != null
                        ? ClientAddresses.address(header.sourceAddress()) : null;
                if (client != null) {
                    ctx.channel().attr(ClientAddresses.PROXIED).set(client);
                    listener.onClient(ctx, client);
                }
            } finally {
                header.release();
                ctx.pipeline().remove(this);
            }
        }
    }
}
