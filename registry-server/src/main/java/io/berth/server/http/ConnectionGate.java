package io.berth.server.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Caps on open connections: {@code berth.limits.maxConnections} in all, and
 * {@code berth.limits.maxConnectionsPerClient} from one client address. The client is the socket's peer, or the
 * source a trusted proxy named in a PROXY header; a trusted proxy that forwards by headers alone counts only
 * against the overall cap, since its connections carry many clients. A connection over a cap is closed at once,
 * before anything is read from it. Shared by every connection of one server; thread-safe.
 */
@ChannelHandler.Sharable
final class ConnectionGate extends ChannelInboundHandlerAdapter implements ProxyProtocol.Listener {
    private static final Logger log = LoggerFactory.getLogger(ConnectionGate.class);
    private static final AttributeKey<InetAddress> COUNTED = AttributeKey.valueOf("berth.countedClient");

    private final int max;
    private final int maxPerClient;
    private final ClientAddresses clients;
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, AtomicInteger> perClient = new ConcurrentHashMap<>();
    private final AtomicInteger refused = new AtomicInteger();

    ConnectionGate(int max, int maxPerClient, ClientAddresses clients) {
        this.max = max;
        this.maxPerClient = maxPerClient;
        this.clients = clients;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        Channel ch = ctx.channel();
        int now = open.incrementAndGet();
        ch.closeFuture().addListener(f -> open.decrementAndGet());
        if (now > max) {
            refuse(ctx, "the server has " + max + " connections open (berth.limits.maxConnections)");
            return;
        }
        InetAddress peer = ClientAddresses.peer(ch);
        // A trusted proxy's own address is shared by its clients; PROXY protocol, if it speaks it, names the client.
        if (peer != null && !clients.isTrusted(peer) && !admit(ctx, peer)) {
            return;
        }
        ctx.fireChannelActive();
    }

    @Override
    public void onClient(ChannelHandlerContext ctx, InetAddress client) {
        admit(ctx, client);
    }

    /** Counts the connection against {@code client}'s cap; closes it and returns false when that is spent. */
    private boolean admit(ChannelHandlerContext ctx, InetAddress client) {
        Channel ch = ctx.channel();
        if (ch.attr(COUNTED).setIfAbsent(client) != null) {
            return true;
        }
        AtomicInteger count = perClient.compute(client, (k, c) -> {
            AtomicInteger n = c == null ? new AtomicInteger() : c;
            n.incrementAndGet();
            return n;
        });
        ch.closeFuture().addListener(f -> release(client));
        if (count.get() > maxPerClient) {
            refuse(ctx, client.getHostAddress() + " has " + maxPerClient + " connections open (berth.limits.maxConnectionsPerClient)");
            return false;
        }
        return true;
    }

    private void release(InetAddress client) {
        perClient.computeIfPresent(client, (k, c) -> c.decrementAndGet() <= 0 ? null : c);
    }

    private void refuse(ChannelHandlerContext ctx, String why) {
        int n = refused.incrementAndGet();
        // One line for the first refusal and then every 1000th, so a flood cannot flood the log too.
        if (n == 1 || n % 1000 == 0) {
            log.warn("refused a connection from {}: {} ({} refused so far)", ctx.channel().remoteAddress(), why, n);
        }
        ctx.close();
    }

    /** Connections open now. */
    int open() {
        return open.get();
    }

    /** Connections open now from {@code client}. */
    int open(@Nullable InetAddress client) {
        AtomicInteger c = client == null ? null : perClient.get(client);
        return c == null ? 0 : c.get();
    }
}
