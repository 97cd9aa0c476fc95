package io.berth.auth.trust;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** The parts of an OCI image manifest a signature artifact is read by: its layers and its subject. */
record Manifest(List<Layer> layers, @Nullable String subject) {
    /** One layer descriptor. */
    record Layer(int index, String mediaType, String digest, long size, Map<String, String> annotations) {}

    /** More than any signature manifest holds: each {@code cosign sign} of an image adds one layer to its .sig. */
    static final int MAX_LAYERS = 256;
    static final int MAX_ANNOTATIONS = 64;

    static Manifest parse(byte[] content) throws Refusal {
        JsonNode root = StrictJson.object(content, "the manifest");
        if (root.has("manifests")) {
            throw new Refusal("the manifest is an index, which carries no signature layers");
        }
        JsonNode layers = root.get("layers");
        if (layers == null || !layers.isArray()) {
            throw new Refusal("the manifest has no layers array");
        }
        if (layers.size() > MAX_LAYERS) {
            throw new Refusal("the manifest has " + layers.size() + " layers; at most " + MAX_LAYERS + " are read");
        }
        List<Layer> out = new ArrayList<>(layers.size());
        for (int i = 0; i < layers.size(); i++) {
            out.add(layer(i, layers.get(i)));
        }
        String subject = null;
        JsonNode subjectNode = root.get("subject");
        if (subjectNode != null && !subjectNode.isNull()) {
            if (!subjectNode.isObject()) {
                throw new Refusal("the manifest's subject is not a descriptor");
            }
            subject = StrictJson.string(subjectNode, "digest", "the manifest's subject");
        }
        return new Manifest(List.copyOf(out), subject);
    }

    private static Layer layer(int index, JsonNode node) throws Refusal {
        String what = "layer " + index;
        if (!node.isObject()) {
            throw new Refusal(what + " is not a descriptor");
        }
        String mediaType = StrictJson.string(node, "mediaType", what);
        String digest = StrictJson.string(node, "digest", what);
        if (!Digests.isValid(digest)) {
            throw new Refusal(what + " has the digest " + Text.quote(digest) + ", which is not a valid digest");
        }
        JsonNode size = node.get("size");
        if (size == null || !size.isIntegralNumber() || !size.canConvertToLong() || size.longValue() < 0) {
            throw new Refusal(what + " has no valid size");
        }
        Map<String, String> annotations = new LinkedHashMap<>();
        JsonNode map = node.get("annotations");
        if (map != null && !map.isNull()) {
            if (!map.isObject()) {
                throw new Refusal(what + "'s annotations are not an object");
            }
            if (map.size() > MAX_ANNOTATIONS) {
                throw new Refusal(what + " has " + map.size() + " annotations; at most " + MAX_ANNOTATIONS
                        + " are read");
            }
            for (Map.Entry<String, JsonNode> entry : map.properties()) {
                if (!entry.getValue().isTextual()) {
                    throw new Refusal(what + "'s annotation " + Text.quote(entry.getKey()) + " is not a string");
                }
                annotations.put(entry.getKey(), entry.getValue().textValue());
            }
        }
        return new Layer(index, mediaType, digest, size.longValue(), Map.copyOf(annotations));
    }
}
