package io.berth.storage;

import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * An OCI content descriptor as it appears in manifests and in the referrers index.
 *
 * @param mediaType the content's media type
 * @param digest the content's digest
 * @param size the content's length
 * @param artifactType the artifact type, for referrers; null when none
 * @param annotations annotations, possibly empty
 */
public record Descriptor(String mediaType, Digest digest, long size, @Nullable String artifactType, Map<String, String> annotations) {
    public Descriptor {
        annotations = Map.copyOf(annotations);
    }
}
