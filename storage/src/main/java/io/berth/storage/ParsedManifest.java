package io.berth.storage;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
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
public record ParsedManifest(
        String mediaType,
        List<Descriptor> blobs,
        List<Descriptor> children,
        @Nullable Descriptor subject,
        @Nullable String artifactType,
        Map<String, String> annotations) {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] BYTE_ORDER_MARK = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

    /**
     * Parses and validates {@code content}. {@code declared} is the request's Content-Type, if any;
     * it must agree with the body's own {@code mediaType} field when both are present.
     *
     * <p>The body is read as registry:2 and the Go clients that pull it read it: strict UTF-8 JSON
     * with one top-level value and no byte-order mark; a key names a field if it equals the field's
     * name ignoring case (Go's folding), and a field may be repeated only with the same value. The
     * kind of manifest is what the body is, never what the Content-Type claims: an OCI image manifest
     * may not have {@code manifests}, nor an OCI index {@code config} or {@code layers} (registry:2
     * 2.8's fix of CVE-2021-41190). So whenever {@code parse(content, declared)} succeeds,
     * {@code parse(content, null)} yields the same media type, blobs and children.
     */
    public static ParsedManifest parse(byte[] content, @Nullable String declared) {
        JsonNode root = readStrictJson(content);
        if (!(root instanceof ObjectNode)) {
            throw invalid("manifest is not a JSON object");
        }
        String mediaType = effectiveType(declared, text(root, "mediaType"), root);
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
                if (!array(layer, "urls", false).iterator().hasNext()) {
                    blobs.add(d);
                }
            }
            if (artifactType == null) {
                artifactType = config.mediaType();
            }
        }
        JsonNode subjectNode = root.get("subject");
        Descriptor subject = isAbsent(subjectNode) ? null : descriptor(subjectNode, "subject");
        return new ParsedManifest(mediaType, blobs, children, subject, artifactType, annotations(root));
    }

    /**
     * The single JSON value of {@code content}, which must be UTF-8 with no byte-order mark (Jackson
     * would otherwise detect UTF-16 or UTF-32 by itself) and nothing but whitespace after the value.
     */
    private static JsonNode readStrictJson(byte[] content) {
        if (Arrays.equals(content, 0, Math.min(content.length, BYTE_ORDER_MARK.length), BYTE_ORDER_MARK, 0, BYTE_ORDER_MARK.length)) {
            throw invalid("manifest starts with a byte-order mark; it must be UTF-8 JSON without one");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(content))
                    .toString();
        } catch (CharacterCodingException e) {
            throw invalid("manifest is not valid UTF-8");
        }
        try (JsonParser p = JSON.createParser(text)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                throw invalid("manifest is empty");
            }
            JsonNode root = readValue(p, first, Kind.MANIFEST);
            if (p.nextToken() != null) {
                throw invalid("manifest has data after its JSON value");
            }
            return root;
        } catch (JsonProcessingException e) {
            throw invalid("manifest is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw invalid("manifest could not be read");
        }
    }

    /**
     * The value at the parser's current token {@code t}, in an object of kind {@code in}. In a manifest
     * or a descriptor, a key names a field Berth reads if it equals the field's name under Go's case
     * folding, as registry:2 and the Go clients decode it; the value is stored under the field's own
     * name. Such a field may be repeated only with the same value: Go would take the last one, but
     * merges repeated objects and keeps a string when a later key is null, and no client writes them.
     * Other keys are kept as they are, the last one winning.
     */
    private static JsonNode readValue(JsonParser p, JsonToken t, Kind in) throws IOException {
        JsonNodeFactory nodes = JSON.getNodeFactory();
        return switch (t) {
            case START_OBJECT -> {
                ObjectNode object = nodes.objectNode();
                for (String key = p.nextFieldName(); key != null; key = p.nextFieldName()) {
                    String name = in.fields.get(goFold(key));
                    JsonNode value = readValue(p, p.nextToken(), name == null ? Kind.OTHER : Kind.of(name));
                    if (name == null) {
                        object.set(key, value);
                        continue;
                    }
                    JsonNode earlier = object.get(name);
                    if (earlier != null && !earlier.equals(value)) {
                        throw invalid(name + " appears more than once with different values");
                    }
                    object.set(name, value);
                }
                yield object;
            }
            case START_ARRAY -> {
                ArrayNode array = nodes.arrayNode();
                for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken()) {
                    array.add(readValue(p, e, in));
                }
                yield array;
            }
            case VALUE_STRING -> nodes.textNode(p.getText());
            case VALUE_NUMBER_INT -> switch (p.getNumberType()) {
                case INT -> nodes.numberNode(p.getIntValue());
                case LONG -> nodes.numberNode(p.getLongValue());
                default -> nodes.numberNode(p.getBigIntegerValue());
            };
            case VALUE_NUMBER_FLOAT -> nodes.numberNode(p.getDoubleValue());
            case VALUE_TRUE, VALUE_FALSE -> nodes.booleanNode(t == JsonToken.VALUE_TRUE);
            case VALUE_NULL -> nodes.nullNode();
            default -> throw invalid("manifest is not valid JSON: unexpected " + t);
        };
    }

    /** Go's encoding/json folding of a key: each code point to upper case of its lower case (so 'ſ' is 'S'). */
    private static String goFold(String key) {
        StringBuilder out = new StringBuilder(key.length());
        key.codePoints().forEach(c -> out.appendCodePoint(Character.toUpperCase(Character.toLowerCase(c))));
        return out.toString();
    }

    /** The kinds of JSON object Berth reads fields of, each with those fields by their Go-folded names. */
    private enum Kind {
        MANIFEST("schemaVersion", "mediaType", "artifactType", "config", "layers", "manifests", "subject", "annotations"),
        DESCRIPTOR("mediaType", "digest", "size", "urls", "artifactType", "annotations"),
        OTHER;

        final Map<String, String> fields;

        Kind(String... names) {
            Map<String, String> byFolded = new HashMap<>();
            for (String name : names) {
                byFolded.put(goFold(name), name);
            }
            this.fields = Map.copyOf(byFolded);
        }

        /** The kind of the objects in field {@code name} of a manifest: descriptors, or none Berth reads. */
        static Kind of(String name) {
            return switch (name) {
                case "config", "layers", "manifests", "subject" -> DESCRIPTOR;
                default -> OTHER;
            };
        }
    }

    /**
     * The effective media type: the body's {@code mediaType}, else the Content-Type, else the shape.
     * Without a {@code mediaType} the shape decides when the manifest is served, so it must agree
     * with the Content-Type. As in registry:2, the OCI types refuse the other kind's fields; the
     * Docker types, which must carry their {@code mediaType}, do not.
     */
    private static String effectiveType(@Nullable String declared, @Nullable String bodyType, JsonNode root) {
        if (declared != null && bodyType != null && !declared.equals(bodyType)) {
            throw invalid("Content-Type " + declared + " does not match the manifest's mediaType " + bodyType);
        }
        if (bodyType == null && (MediaTypes.DOCKER_MANIFEST.equals(declared) || MediaTypes.DOCKER_MANIFEST_LIST.equals(declared))) {
            throw invalid("Docker manifests must carry their mediaType field");
        }
        String type = bodyType != null ? bodyType : declared != null ? declared : shape(root);
        if (!MediaTypes.isManifest(type)) {
            throw invalid("unsupported manifest media type: " + Digest.abbreviate(type));
        }
        if (type.equals(MediaTypes.OCI_MANIFEST) && !isAbsent(root.get("manifests"))) {
            throw invalid("an OCI image manifest must not have manifests: this body is an index");
        }
        if (type.equals(MediaTypes.OCI_INDEX) && (!isAbsent(root.get("config")) || !isAbsent(root.get("layers")))) {
            throw invalid("an OCI index must not have config or layers: this body is an image manifest");
        }
        if (bodyType == null && !type.equals(shape(root))) {
            throw invalid("an OCI index without a mediaType needs manifests");
        }
        return type;
    }

    /** What a body without a {@code mediaType} is: an index if it has {@code manifests}, else an image manifest. */
    private static String shape(JsonNode root) {
        return isAbsent(root.get("manifests")) ? MediaTypes.OCI_MANIFEST : MediaTypes.OCI_INDEX;
    }

    private static Descriptor descriptor(JsonNode node, String where) {
        if (!(node instanceof ObjectNode)) {
            throw invalid(where + " is not a descriptor object");
        }
        String mediaType = text(node, "mediaType");
        String digest = text(node, "digest");
        JsonNode size = node.get("size");
        if (mediaType == null || digest == null || size == null || !size.isIntegralNumber() || !size.canConvertToLong()
                || size.longValue() < 0) {
            throw invalid(where + " needs mediaType, digest and a size that is a non-negative integer");
        }
        Digest parsed;
        try {
            parsed = Digest.parse(digest);
        } catch (StorageException e) {
            throw invalid(where + " has an invalid digest: " + Digest.abbreviate(digest));
        }
        for (JsonNode url : array(node, "urls", false)) {
            if (!url.isTextual()) {
                throw invalid(where + " urls must be strings");
            }
        }
        return new Descriptor(mediaType, parsed, size.longValue(), text(node, "artifactType"), annotations(node));
    }

    private static Map<String, String> annotations(JsonNode node) {
        JsonNode a = node.get("annotations");
        if (isAbsent(a)) {
            return Map.of();
        }
        if (!a.isObject()) {
            throw invalid("annotations must be an object");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : a.properties()) {
            if (!e.getValue().isTextual()) {
                throw invalid("annotations must be strings: " + Digest.abbreviate(e.getKey()));
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
        return out;
    }

    private static JsonNode required(JsonNode root, String field) {
        JsonNode n = root.get(field);
        if (isAbsent(n)) {
            throw invalid("manifest is missing " + field);
        }
        return n;
    }

    private static Iterable<JsonNode> array(JsonNode node, String field, boolean required) {
        JsonNode n = node.get(field);
        if (isAbsent(n)) {
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

    /** A string field, or null when absent; any other JSON type is invalid, as Go refuses it. */
    private static @Nullable String text(JsonNode node, String field) {
        JsonNode n = node.get(field);
        if (isAbsent(n)) {
            return null;
        }
        if (!n.isTextual()) {
            throw invalid(field + " must be a string");
        }
        return n.textValue();
    }

    private static boolean isAbsent(@Nullable JsonNode n) {
        return n == null || n.isNull();
    }

    private static StorageException invalid(String detail) {
        return new StorageException(Problem.MANIFEST_INVALID, detail);
    }
}
