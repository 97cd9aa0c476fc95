package io.berth.storage;

import org.jspecify.annotations.Nullable;

/**
 * A manifest as stored: its exact bytes, its digest and its media type.
 *
 * @param digest the digest of {@code content}
 * @param mediaType the media type to serve it with
 * @param content the bytes as pushed
 * @param subject the digest of the manifest's {@code subject}, or null
 */
public record StoredManifest(Digest digest, String mediaType, byte[] content, @Nullable Digest subject) {}
