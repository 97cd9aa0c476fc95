package io.berth.server.http;

import io.berth.storage.BlobContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponse;

/** What an endpoint answers: a complete response, a head followed by a slice of a blob's file, or a streamed body. */
sealed interface Reply permits Reply.Full, Reply.Blob, Reply.Streamed {

    HttpResponse head();

    /** A response held entirely in memory (errors, manifests, JSON). */
    record Full(FullHttpResponse head) implements Reply {}

    /** A blob body sent from its file: zero-copy without TLS, chunked reads with it. */
    record Blob(HttpResponse head, BlobContent.File content, long offset, long length) implements Reply {}

    /** A blob body written as the pull-through cache fetches it. */
    record Streamed(HttpResponse head, StreamingBody body) implements Reply {}

    static Reply of(FullHttpResponse response) {
        return new Full(response);
    }
}
