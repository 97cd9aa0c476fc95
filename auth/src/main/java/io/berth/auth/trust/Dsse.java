package io.berth.auth.trust;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * DSSE envelopes holding in-toto statements: the layers of cosign's legacy {@code .att} tag
 * ({@value #MEDIA_TYPE}), and the envelope inside a sigstore bundle. The signature is over the envelope's
 * pre-authentication encoding, {@code DSSEv1 <len(type)> <type> <len(body)> <body>}, never over the payload alone.
 */
final class Dsse {
    static final String MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json";
    static final String IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
    static final List<String> STATEMENT_TYPES =
            List.of("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1");
    /** Envelopes carry one signature in practice; more are allowed for co-signing, up to this many. */
    static final int MAX_SIGNATURES = 16;

    private Dsse() {}

    record Envelope(String payloadType, byte[] payload, List<byte[]> signatures) {}

    /** A claim an envelope proves, and the key that signed it. */
    record Proof(Claim claim, TrustKey key) {}

    static Envelope parse(JsonNode node, String what) throws Refusal {
        if (!node.isObject()) {
            throw new Refusal(what + " is not a JSON object");
        }
        String payloadType = StrictJson.string(node, "payloadType", what);
        byte[] payload = Base64s.decode(StrictJson.string(node, "payload", what), what + "'s payload");
        JsonNode signatures = node.get("signatures");
        if (signatures == null || !signatures.isArray() || signatures.isEmpty()) {
            throw new Refusal(what + " has no signatures");
        }
        if (signatures.size() > MAX_SIGNATURES) {
            throw new Refusal(what + " has " + signatures.size() + " signatures; at most " + MAX_SIGNATURES
                    + " are read");
        }
        List<byte[]> sigs = new ArrayList<>(signatures.size());
        for (int i = 0; i < signatures.size(); i++) {
            JsonNode signature = signatures.get(i);
            if (!signature.isObject()) {
                throw new Refusal(what + "'s signature " + i + " is not an object");
            }
            sigs.add(Base64s.decode(StrictJson.string(signature, "sig", what + "'s signature " + i),
                    what + "'s signature " + i));
        }
        return new Envelope(payloadType, payload, List.copyOf(sigs));
    }

    /**
     * What the envelope proves about {@code subject}: one of its signatures is by a key of the rule, it holds an
     * in-toto statement, and one of the statement's subjects has exactly the subject's digest.
     */
    static Proof check(Envelope envelope, String subject, PolicyRule rule) throws Refusal {
        byte[] pae = pae(envelope.payloadType(), envelope.payload());
        TrustKey key = null;
        for (byte[] signature : envelope.signatures()) {
            key = Signatures.signerOf(rule.keys(), pae, signature);
            if (key != null) {
                break;
            }
        }
        if (key == null) {
            throw new Refusal(SimpleSigning.noKey(rule));
        }
        if (!envelope.payloadType().equals(IN_TOTO_PAYLOAD_TYPE)) {
            throw new Refusal("the envelope's payload type is " + Text.quote(envelope.payloadType()) + ", not "
                    + IN_TOTO_PAYLOAD_TYPE);
        }
        Statement statement = Statement.parse(envelope.payload());
        if (!statement.covers(subject)) {
            throw new Refusal("the statement's subject is " + statement.describeSubjects(subject) + ", not "
                    + subject);
        }
        return new Proof(Claim.ofStatement(statement.predicateType()), key);
    }

    /** DSSE's pre-authentication encoding. */
    static byte[] pae(String payloadType, byte[] payload) {
        byte[] type = payloadType.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length + type.length + 32);
        out.writeBytes(("DSSEv1 " + type.length + " ").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(type);
        out.writeBytes((" " + payload.length + " ").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(payload);
        return out.toByteArray();
    }

    /**
     * The parts of an in-toto statement that say what it is about. The predicate, which may be a large SBOM, is
     * skipped by a streaming parser, never built in memory.
     */
    record Statement(String predicateType, List<JsonNode> subjects) {
        static final int MAX_SUBJECTS = 1024;

        static Statement parse(byte[] payload) throws Refusal {
            String type = null;
            String predicateType = null;
            List<JsonNode> subjects = null;
            try (JsonParser parser = StrictJson.parser(payload, "the in-toto statement")) {
                if (parser.nextToken() != JsonToken.START_OBJECT) {
                    throw new Refusal("the in-toto statement is not a JSON object");
                }
                for (JsonToken token = parser.nextToken(); token == JsonToken.FIELD_NAME; token = parser.nextToken()) {
                    String name = parser.currentName();
                    JsonToken value = parser.nextToken();
                    switch (name) {
                        case "_type" -> type = text(parser, value, "_type");
                        case "predicateType" -> predicateType = text(parser, value, "predicateType");
                        case "subject" -> subjects = subjects(parser, value);
                        default -> parser.skipChildren();
                    }
                }
                if (parser.nextToken() != null) {
                    throw new Refusal("the in-toto statement has data after its end");
                }
            } catch (JsonProcessingException e) {
                throw new Refusal("the in-toto statement is not valid JSON: "
                        + StrictJson.clean(e.getOriginalMessage()));
            } catch (IOException e) {
                throw new Refusal("the in-toto statement cannot be read: " + StrictJson.clean(e.getMessage()));
            }
            if (type == null || !STATEMENT_TYPES.contains(type)) {
                throw new Refusal(type == null
                        ? "the payload is not an in-toto statement (it has no _type)"
                        : "the statement's _type is " + Text.quote(type) + ", not an in-toto statement");
            }
            if (predicateType == null || predicateType.isEmpty()) {
                throw new Refusal("the statement has no predicateType");
            }
            if (subjects == null || subjects.isEmpty()) {
                throw new Refusal("the statement has no subject");
            }
            return new Statement(predicateType, subjects);
        }

        private static String text(JsonParser parser, JsonToken value, String name) throws Refusal, IOException {
            if (value != JsonToken.VALUE_STRING) {
                throw new Refusal("the statement's " + name + " is not a string");
            }
            return parser.getText();
        }

        private static List<JsonNode> subjects(JsonParser parser, JsonToken value) throws Refusal, IOException {
            if (value != JsonToken.START_ARRAY) {
                throw new Refusal("the statement's subject is not an array");
            }
            List<JsonNode> out = new ArrayList<>();
            for (JsonToken token = parser.nextToken(); token != JsonToken.END_ARRAY; token = parser.nextToken()) {
                if (out.size() == MAX_SUBJECTS) {
                    throw new Refusal("the statement has more than " + MAX_SUBJECTS + " subjects");
                }
                out.add(StrictJson.tree(parser));
            }
            return out;
        }

        /** Whether a subject's digest for the subject's algorithm is exactly its hex digest. */
        boolean covers(String subject) {
            String algorithm = Digests.algorithm(subject);
            String hex = Digests.hex(subject);
            for (JsonNode entry : subjects) {
                JsonNode digest = entry.get("digest");
                if (digest != null && digest.isObject()) {
                    JsonNode value = digest.get(algorithm);
                    if (value != null && value.isTextual() && value.textValue().equals(hex)) {
                        return true;
                    }
                }
            }
            return false;
        }

        /** The subjects' digests for a message: the first three. */
        String describeSubjects(String subject) {
            String algorithm = Digests.algorithm(subject);
            List<String> digests = new ArrayList<>();
            for (JsonNode entry : subjects) {
                if (digests.size() == 3) {
                    digests.add("…");
                    break;
                }
                @Nullable JsonNode digest = entry.get("digest");
                JsonNode value = digest == null ? null : digest.get(algorithm);
                digests.add(value != null && value.isTextual()
                        ? Digests.describe(algorithm + ":" + value.textValue())
                        : "(no " + algorithm + " digest)");
            }
            return String.join(", ", digests);
        }
    }
}
