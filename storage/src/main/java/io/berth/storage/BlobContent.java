package io.berth.storage;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;

/**
 * An open blob, ready to be sent without copying through the heap (sendfile or chunked reads).
 * The caller owns the channel and must close it.
 *
 * @param digest the blob's digest
 * @param channel a read-only channel on the blob's data
 * @param size the blob's length in bytes
 */
public record BlobContent(Digest digest, FileChannel channel, long size) implements Closeable {
    @Override
    public void close() throws IOException {
        channel.close();
    }
}
