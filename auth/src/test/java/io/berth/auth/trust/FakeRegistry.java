package io.berth.auth.trust;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** Blobs by digest, and OCI manifests over them, as a registry holds signature artifacts. */
final class FakeRegistry implements BlobReader {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] EMPTY_CONFIG = "{}".getBytes();

    private final Map<String, byte[]> blobs = new HashMap<>();
    private int reads;

    /** A layer to be: its media type, exact bytes and annotations. */
    record Layer(String mediaType, byte[] content, Map<String, String> annotations) {
        Layer withContent(byte[] other) {
            return new Layer(mediaType, other, annotations);
        }

        Layer withAnnotation(String key, String value) {
            Map<String, String> changed = new LinkedHashMap<>(annotations);
            changed.put(key, value);
            return new Layer(mediaType, content, changed);
        }
    }

    static String sha256(byte[] content) {
        return io.berth.testing.RegistryClient.sha256(content);
    }

    String put(byte[] content) {
        String digest = sha256(content);
        blobs.put(digest, content.clone());
        return digest;
    }

    /** Stores other bytes under a digest, as a corrupted store would. */
    void corrupt(String digest, byte[] content) {
        blobs.put(digest, content.clone());
    }

    @Override
    public byte @Nullable [] read(String digest, long size) {
        reads++;
        byte[] content = blobs.get(digest);
        return content == null ? null : content.clone();
    }

    int reads() {
        return reads;
    }

    /** An OCI image manifest of the layers (stored as blobs), with a subject when it is a referrer. */
    Artifact manifest(@Nullable String subject, List<Layer> layers) {
        ObjectNode root = JSON.createObjectNode();
        root.put("schemaVersion", 2);
        root.put("mediaType", "application/vnd.oci.image.manifest.v1+json");
        ObjectNode config = root.putObject("config");
        config.put("mediaType", "application/vnd.oci.empty.v1+json");
        config.put("digest", put(EMPTY_CONFIG));
        config.put("size", EMPTY_CONFIG.length);
        ArrayNode array = root.putArray("layers");
        for (Layer layer : layers) {
            ObjectNode descriptor = array.addObject();
            descriptor.put("mediaType", layer.mediaType());
            descriptor.put("size", layer.content().length);
            descriptor.put("digest", put(layer.content()));
            if (!layer.annotations().isEmpty()) {
                ObjectNode annotations = descriptor.putObject("annotations");
                layer.annotations().forEach(annotations::put);
            }
        }
        if (subject != null) {
            ObjectNode descriptor = root.putObject("subject");
            descriptor.put("mediaType", "application/vnd.oci.image.manifest.v1+json");
            descriptor.put("digest", subject);
            descriptor.put("size", 1234);
        }
        return raw(bytes(root));
    }

    Artifact manifest(@Nullable String subject, Layer... layers) {
        return manifest(subject, List.of(layers));
    }

    /** An artifact of exactly these manifest bytes. */
    static Artifact raw(byte[] manifest) {
        return Artifact.of(sha256(manifest), manifest);
    }

    static byte[] bytes(Object node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
