package io.berth.server.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/** Builders for the responses Berth sends; every error has the spec's JSON body. */
final class Responses {
    static final ObjectMapper JSON = new ObjectMapper();

    private Responses() {}

    static FullHttpResponse empty(HttpResponseStatus status) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.EMPTY_BUFFER);
        r.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
        return r;
    }

    static FullHttpResponse bytes(HttpResponseStatus status, String contentType, byte[] body) {
        return of(status, contentType, Unpooled.wrappedBuffer(body));
    }

    static FullHttpResponse json(HttpResponseStatus status, Object body) {
        try {
            return of(status, HttpHeaderValues.APPLICATION_JSON.toString(), Unpooled.wrappedBuffer(JSON.writeValueAsBytes(body)));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code {"errors":[{"code","message","detail"}]}} with the error's status. */
    static FullHttpResponse error(HttpError e) {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode errors = body.putArray("errors");
        ObjectNode err = errors.addObject();
        err.put("code", e.code().name());
        err.put("message", e.code().message());
        err.put("detail", e.getMessage());
        return json(e.status(), body);
    }

    private static FullHttpResponse of(HttpResponseStatus status, String contentType, ByteBuf content) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        r.headers().set(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        return r;
    }
}
