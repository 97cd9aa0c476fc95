package io.berth.storage;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.channels.FileChannel;

/** An open blob, ready to be sent: a file (sent without copying through the heap), a stream, or a redirect. */
public sealed interface BlobContent extends Closeable {
    /** The blob's digest. */
    Digest digest();

    /** The blob's length in bytes. */
    long size();

    /** All of the blob's bytes as a stream, for Berth's own reads (signatures), whatever kind of content it is. */
    InputStream stream() throws IOException;

    /**
     * A blob in a file, ready for sendfile or chunked reads. The caller owns the channel and must close it.
     *
     * @param channel a read-only channel on the blob's data
     */
    record File(Digest digest, FileChannel channel, long size) implements BlobContent {
        @Override
        public InputStream stream() throws IOException {
            return java.nio.channels.Channels.newInputStream(channel.position(0));
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** Opens a range of a blob's bytes; the caller closes the stream. */
    @FunctionalInterface
    interface Opener {
        InputStream open(long offset, long length) throws IOException;
    }

    /** A blob read as a stream (from an object store), opened for the range the request wants, on a blocking thread. */
    record Stream(Digest digest, long size, Opener opener) implements BlobContent {
        @Override
        public InputStream stream() throws IOException {
            return opener.open(0, size);
        }

        @Override
        public void close() {}
    }

    /**
     * A blob its client fetches itself from {@code location} (a presigned URL of an object store), registry:2's
     * redirect; Berth's own reads use {@code opener}.
     */
    record Redirect(Digest digest, long size, URI location, Opener opener) implements BlobContent {
        @Override
        public InputStream stream() throws IOException {
            return opener.open(0, size);
        }

        @Override
        public void close() {}
    }
}
