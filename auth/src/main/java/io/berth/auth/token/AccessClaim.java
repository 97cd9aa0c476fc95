package io.berth.auth.token;

import io.berth.auth.Action;
import io.berth.auth.Scope;
import io.berth.auth.token.InvalidTokenException.Reason;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The private {@code access} claim of the Docker token protocol:
 * {@code [{"type":"repository","name":"team/app","actions":["pull","push"]}]}.
 */
final class AccessClaim {
    static final String NAME = "access";

    private AccessClaim() {}

    /**
     * The scopes a claim grants, in claim order. Entries for the same type and name are merged (as distribution's
     * access set does), unknown actions are dropped, and an entry left with no known action is dropped. The optional
     * {@code class} member is ignored, as distribution ignores it when authorizing. A claim of the wrong shape makes
     * the whole token malformed, as a failed JSON decode does in distribution.
     */
    static List<Scope> parse(@Nullable Object claim) throws InvalidTokenException {
        if (claim == null) {
            return List.of();
        }
        if (!(claim instanceof List<?> entries)) {
            throw malformed("is not a list");
        }
        Map<List<String>, Set<Action>> merged = new LinkedHashMap<>();
        for (Object entry : entries) {
            if (!(entry instanceof Map<?, ?> fields)) {
                throw malformed("holds an entry that is not an object");
            }
            String type = string(fields, "type");
            String name = string(fields, "name");
            Set<Action> actions = merged.computeIfAbsent(List.of(type, name), k -> EnumSet.noneOf(Action.class));
            Object list = fields.get("actions");
            if (list == null) {
                continue;
            }
            if (!(list instanceof List<?> wires)) {
                throw malformed("has actions that are not a list");
            }
            for (Object wire : wires) {
                if (!(wire instanceof String text)) {
                    throw malformed("has an action that is not a string");
                }
                Action action = Action.fromWire(text);
                if (action != null) {
                    actions.add(action);
                }
            }
        }
        List<Scope> scopes = new ArrayList<>(merged.size());
        merged.forEach((key, actions) -> {
            if (!actions.isEmpty()) {
                scopes.add(new Scope(key.get(0), key.get(1), actions));
            }
        });
        return List.copyOf(scopes);
    }

    /** The claim for granted scopes, with the actions' wire names in the protocol's order; empty grants kept. */
    static List<Map<String, Object>> render(List<Scope> granted) {
        List<Map<String, Object>> out = new ArrayList<>(granted.size());
        for (Scope scope : granted) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("type", scope.type());
            entry.put("name", scope.name());
            entry.put("actions", scope.actions().stream().sorted().map(Action::wire).toList());
            out.add(entry);
        }
        return out;
    }

    private static String string(Map<?, ?> fields, String member) throws InvalidTokenException {
        Object value = fields.get(member);
        if (value == null) {
            return "";
        }
        if (!(value instanceof String text)) {
            throw malformed("has a " + member + " that is not a string");
        }
        return text;
    }

    private static InvalidTokenException malformed(String what) {
        return new InvalidTokenException(Reason.MALFORMED, "the access claim " + what);
    }
}
