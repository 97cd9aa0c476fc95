package io.berth.auth.trust;

import java.io.IOException;
import org.jspecify.annotations.Nullable;

/** Where the verifier gets the layers of an artifact from: the registry's blob store, or a map in tests. */
@FunctionalInterface
public interface BlobReader {
    /**
     * The whole content of a blob, or null when the store has no such blob.
     *
     * @param digest the layer descriptor's digest, valid ({@code sha256:} and 64 hex digits, or {@code sha512:})
     * @param size the layer descriptor's size, already checked against the verifier's limit; a reader may refuse to
     *     read more than this many bytes (the verifier refuses content of any other length)
     * @throws IOException when the store cannot be read; it reaches the verifier's caller unchanged, so that a storage
     *     failure is never taken for a bad signature
     */
    byte @Nullable [] read(String digest, long size) throws IOException;
}
