package io.berth.server.http;

import io.berth.server.config.Cidr;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Who the client is, behind the proxies Berth trusts ({@code berth.trustedProxies}). Failure budgets and connection
 * caps are kept by this address, so behind an Ingress they count each client, not the Ingress.
 *
 * <ol>
 *   <li>The connection's peer: the socket's remote address, or the source a trusted proxy gave in a PROXY protocol
 *       header ({@link ProxyProtocol}).
 *   <li>If that peer is a trusted proxy, {@code X-Forwarded-For} is read from the right, skipping trusted proxies: the
 *       first hop that is not one is the client (nginx's {@code real_ip_recursive}). Without the header,
 *       {@code X-Real-IP}. Hops a client wrote itself, to the left of the first untrusted one, are never believed.
 *   <li>Headers from peers that are not trusted proxies are ignored.
 * </ol>
 */
final class ClientAddresses {
    /** The client address a trusted proxy gave in a PROXY protocol header for this connection. */
    static final AttributeKey<InetAddress> PROXIED = AttributeKey.valueOf("berth.proxiedClient");

    private static final String UNKNOWN = "unknown";

    private final List<Cidr> trusted;

    ClientAddresses(List<String> trustedProxies) {
        this.trusted = trustedProxies.stream().map(Cidr::parse).toList();
    }

    boolean hasTrustedProxies() {
        return !trusted.isEmpty();
    }

    boolean isTrusted(@Nullable InetAddress address) {
        if (address == null) {
            return false;
        }
        for (Cidr c : trusted) {
            if (c.contains(address)) {
                return true;
            }
        }
        return false;
    }

    /** The connection's peer: what a trusted proxy said in a PROXY header, else the socket's remote address. */
    static @Nullable InetAddress peer(Channel channel) {
        InetAddress proxied = channel.attr(PROXIED).get();
        if (proxied != null) {
            return proxied;
        }
        return channel.remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
    }

    /** The address of the client that sent a request with {@code headers} on {@code channel}, as text. */
    String of(Channel channel, HttpHeaders headers) {
        InetAddress peer = peer(channel);
        if (peer == null) {
            return UNKNOWN;
        }
        if (!isTrusted(peer)) {
            return peer.getHostAddress();
        }
        List<String> forwarded = headers.getAll("X-Forwarded-For");
        if (!forwarded.isEmpty()) {
            InetAddress client = peer;
            // Right to left over every hop of every header line, as if they were one list.
            for (int line = forwarded.size() - 1; line >= 0; line--) {
                String[] hops = forwarded.get(line).split(",", 64);
                for (int i = hops.length - 1; i >= 0; i--) {
                    InetAddress hop = address(hops[i]);
                    if (hop == null) {
                        return client.getHostAddress(); // garbage: the last hop we could read is who we know
                    }
                    client = hop;
                    if (!isTrusted(hop)) {
                        return hop.getHostAddress();
                    }
                }
            }
            return client.getHostAddress();
        }
        String real = headers.get("X-Real-IP");
        InetAddress r = real == null ? null : address(real);
        return r != null ? r.getHostAddress() : peer.getHostAddress();
    }

    /** An address literal, with an optional port ({@code 1.2.3.4:5}, {@code [::1]:5}); never a name looked up. */
    static @Nullable InetAddress address(String text) {
        String s = text.strip();
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            s = close > 0 ? s.substring(1, close) : s;
        } else if (s.indexOf(':') >= 0 && s.indexOf(':') == s.lastIndexOf(':')) {
            s = s.substring(0, s.indexOf(':')); // IPv4 with a port; IPv6 has two colons or more
        }
        byte[] bytes = Cidr.literal(s);
        if (bytes == null) {
            return null;
        }
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
