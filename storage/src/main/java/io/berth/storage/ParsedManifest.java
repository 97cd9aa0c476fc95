package io.berth.storage;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What Berth needs to know of a manifest: its media type, the blobs and child manifests it refers
 * to, and its subject. The bytes themselves are stored untouched.
 *
 * @param mediaType the effective media type
 * @param blobs the config and layers of an image manifest (layers with external {@code urls} are left out)
 * @param children the manifests of an index
 * @param subject the manifest this one refers to, or null
 * @param artifactType the artifact type as the referrers API reports it, or null
 * @param annotations the manifest's annotations
 */
record ParsedManifest(
        String mediaType,
        List<Descriptor> blobs,
        List<Descriptor> children,
        @Nullable Descriptor subject,
        @Nullable String artifactType,
        Map<String, String> annotations) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Parses and validates {@code content}. {@code declared} is the request's Content-Type, if any;
     * it must agree with the body's own {@code mediaType} field when both are present.
     */
    static ParsedManifest parse(byte[] content, @Nullable String declared) {
        JsonNode root;
        try {
            root = JSON.readTree(content);
        } catch (JsonProcessingException e) {
            throw invalid("manifest is not valid JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw invalid("manifest could not be read");
        }
        if (!(root instanceof ObjectNode)) {
            throw invalid("manifest is not a JSON object");
        }
        String bodyType = text(root, "mediaType");
        String mediaType = effectiveType(declared, bodyType, root);
        JsonNode schema = root.get("schemaVersion");
        if (schema == null || !schema.isInt() || schema.intValue() != 2) {
            throw invalid("schemaVersion must be 2");
        }
        List<Descriptor> blobs = new ArrayList<>();
        List<Descriptor> children = new ArrayList<>();
        String artifactType = text(root, "artifactType");
        if (MediaTypes.INDEXES.contains(mediaType)) {
            for (JsonNode m : array(root, "manifests", true)) {
                children.add(descriptor(m, "manifests[]"));
            }
        } else {
            Descriptor config = descriptor(required(root, "config"), "config");
            blobs.add(config);
            for (JsonNode layer : array(root, "layers", true)) {
                Descriptor d = descriptor(layer, "layers[]");
                JsonNode urls = layer.get("urls");
                if (urls == null || !urls.isArray() || urls.isEmpty()) {
                    blobs.add(d);
                }
            }
            if (artifactType == null) {
                artifactType = config.mediaType();
            }
        }
        JsonNode subjectNode = root.get("subject");
        Descriptor subject = subjectNode == null || subjectNode.isNull() ? null : descriptor(subjectNode, "subject");
        return new ParsedManifest(mediaType, blobs, children, subject, artifactType, annotations(root));
    }

    private static String effectiveType(@Nullable String declared, @Nullable String bodyType, JsonNode root) {
        if (declared != null && bodyType != null && !declared.equals(bodyType)) {
            throw invalid("Content-Type " + declared + " does not match the manifest's mediaType " + bodyType);
        }
        if (bodyType == null && (MediaTypes.DOCKER_MANIFEST.equals(declared) || MediaTypes.DOCKER_MANIFEST_LIST.equals(declared))) {
            throw invalid("Docker manifests must carry their mediaType field");
        }
        String type = declared != null ? declared : bodyType;
        if (type == null) {
            type = root.has("manifests") ? MediaTypes.OCI_INDEX : MediaTypes.OCI_MANIFEST;
        }
        if (!MediaTypes.isManifest(type)) {
            throw invalid("unsupported manifest media type: " + Digest.abbreviate(type));
        }
        return type;
    }

    private static Descriptor descriptor(JsonNode node, String where) {
        if (!(node instanceof ObjectNode)) {
            throw invalid(where + " is not a descriptor object");
        }
        String mediaType = text(node, "mediaType");
        String digest = text(node, "digest");
        JsonNode size = node.get("size");
        if (mediaType == null || digest == null || size == null || !size.canConvertToLong() || size.longValue() < 0) {
            throw invalid(where + " needs mediaType, digest and a non-negative size");
        }
        Digest parsed;
        try {
            parsed = Digest.parse(digest);
        } catch (StorageException e) {
            throw invalid(where + " has an invalid digest: " + Digest.abbreviate(digest));
        }
        return new Descriptor(mediaType, parsed, size.longValue(), text(node, "artifactType"), annotations(node));
    }

    private static Map<String, String> annotations(JsonNode node) {
        JsonNode a = node.get("annotations");
        if (a == null || !a.isObject()) {
            return Map.of();
        }
        Map<String, String> out = new LinkedHashMap<>();
        a.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }

    private static JsonNode required(JsonNode root, String field) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            throw invalid("manifest is missing " + field);
        }
        return n;
    }

    private static Iterable<JsonNode> array(JsonNode root, String field, boolean required) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            if (required) {
                throw invalid("manifest is missing " + field);
            }
            return List.of();
        }
        if (!n.isArray()) {
            throw invalid(field + " must be an array");
        }
        return n;
    }

    private static @Nullable String text(JsonNode node, String field) {
        JsonNode n = node.get(field);
        return n != null && n.isTextual() ? n.textValue() : null;
    }

    private static StorageException invalid(String detail) {
        return new StorageException(Problem.MANIFEST_INVALID, detail);
    }
}
