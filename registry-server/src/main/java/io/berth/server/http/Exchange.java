package io.berth.server.http;

import io.berth.auth.Principal;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One request as parsed at the edge.
 *
 * @param ctx the channel's context
 * @param request the request head
 * @param route the endpoint
 * @param query the decoded query string
 * @param startNanos when the request head arrived
 * @param client the client's address, behind the trusted proxies ({@link ClientAddresses})
 * @param principal who is asking, once access control has decided
 */
record Exchange(ChannelHandlerContext ctx, HttpRequest request, Route route, QueryStringDecoder query, long startNanos, String client,
        Principal principal) {

    Exchange(ChannelHandlerContext ctx, HttpRequest request, Route route, QueryStringDecoder query, long startNanos, String client) {
        this(ctx, request, route, query, startNanos, client, Principal.ANONYMOUS);
    }

    Exchange as(Principal who) {
        return new Exchange(ctx, request, route, query, startNanos, client, who);
    }

    HttpMethod method() {
        return request.method();
    }

    boolean isHead() {
        return request.method().equals(HttpMethod.HEAD);
    }

    @Nullable String param(String name) {
        List<String> values = QueryParameters.of(query).get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    List<String> params(String name) {
        return QueryParameters.of(query).getOrDefault(name, List.of());
    }

    @Nullable String header(CharSequence name) {
        return request.headers().get(name);
    }
}
