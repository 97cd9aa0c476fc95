package io.berth.auth.trust;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * Strict JSON for what signers write: UTF-8 with no byte-order mark, one value and nothing after it, no repeated
 * keys (a repeated {@code docker-manifest-digest} could be read one way here and another elsewhere), and bounded
 * nesting, names and numbers.
 */
final class StrictJson {
    /** Deeper than any manifest, envelope, bundle or in-toto statement cosign writes, or SBOM predicates nest. */
    static final int MAX_DEPTH = 64;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_DEPTH)
                    .maxNumberLength(64)
                    .maxNameLength(4096)
                    .build())
            .build();
    private static final ObjectMapper MAPPER =
            JsonMapper.builder(FACTORY).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
    /** Reads one value out of a streaming parser, which goes on after it. */
    private static final ObjectMapper VALUE_READER = JsonMapper.builder(FACTORY).build();

    private StrictJson() {}

    /** The JSON object {@code content} holds; {@code what} names it in the refusal ("the bundle"). */
    static JsonNode object(byte[] content, String what) throws Refusal {
        requireNoBom(content, what);
        JsonNode node;
        try {
            node = MAPPER.readTree(content);
        } catch (JsonProcessingException e) {
            throw new Refusal(what + " is not valid JSON: " + clean(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new Refusal(what + " cannot be read: " + clean(e.getMessage()));
        }
        if (node == null || !node.isObject()) {
            throw new Refusal(what + " is not a JSON object");
        }
        return node;
    }

    /** A streaming parser over {@code content}, for documents whose bulk is skipped unread. */
    static JsonParser parser(byte[] content, String what) throws Refusal {
        requireNoBom(content, what);
        try {
            return FACTORY.createParser(content);
        } catch (IOException e) {
            throw new Refusal(what + " cannot be read: " + clean(e.getMessage()));
        }
    }

    /** The value at the parser's current token, as a tree. */
    static JsonNode tree(JsonParser parser) throws IOException {
        return VALUE_READER.readTree(parser);
    }

    /** The object field {@code name} of {@code parent}. */
    static JsonNode object(JsonNode parent, String name, String what) throws Refusal {
        JsonNode value = parent.get(name);
        if (value == null || !value.isObject()) {
            throw new Refusal(what + " has no " + name + " object");
        }
        return value;
    }

    /** The string field {@code name} of {@code parent}. */
    static String string(JsonNode parent, String name, String what) throws Refusal {
        JsonNode value = parent.get(name);
        if (value == null || !value.isTextual()) {
            throw new Refusal(what + " has no " + name + " string");
        }
        return value.textValue();
    }

    /** The string field {@code name} of {@code parent}, or null when it is absent; refused when it is not a string. */
    static @Nullable String optionalString(JsonNode parent, String name, String what) throws Refusal {
        JsonNode value = parent.get(name);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw new Refusal(what + "'s " + name + " is not a string");
        }
        return value.textValue();
    }

    /** A parser's message, which may quote the input, made safe and short for a reason. */
    static String clean(@Nullable String message) {
        if (message == null) {
            return "no detail";
        }
        String firstLine = message.lines().findFirst().orElse("");
        String quoted = Text.quote(firstLine);
        return quoted.substring(1, quoted.lastIndexOf('"')) + quoted.substring(quoted.lastIndexOf('"') + 1);
    }

    private static void requireNoBom(byte[] content, String what) throws Refusal {
        if (content.length >= 3 && content[0] == (byte) 0xEF && content[1] == (byte) 0xBB
                && content[2] == (byte) 0xBF) {
            throw new Refusal(what + " starts with a byte-order mark");
        }
    }
}
