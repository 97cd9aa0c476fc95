package io.berth.server.http;

import io.netty.buffer.ByteBuf;

/**
 * Where a request's body goes while it arrives. A sink is made per request from its head, fed each
 * chunk in order, and asked for the reply once the last chunk is in. If the connection dies first,
 * it is aborted instead.
 */
interface BodySink {
    /** Takes one chunk; the caller keeps ownership of {@code content} and releases it. */
    void content(ByteBuf content);

    /** The reply, once the whole body has arrived. */
    Reply finish();

    /** The request will never complete; release whatever the sink holds. */
    void abort();

    /** A sink for requests whose body, if any, is ignored. */
    static BodySink ignoring(java.util.function.Supplier<Reply> action) {
        return new BodySink() {
            @Override
            public void content(ByteBuf content) {}

            @Override
            public Reply finish() {
                return action.get();
            }

            @Override
            public void abort() {}
        };
    }
}
