package io.berth.auth;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * A resource scope of the Docker token protocol: {@code repository:team/app:pull,push} or
 * {@code registry:catalog:*}. Its string form is exactly what challenges and token requests carry.
 *
 * @param type {@code repository} or {@code registry}
 * @param name the repository name, or {@code catalog}
 * @param actions the actions, in the protocol's order (pull, push, delete, *)
 */
public record Scope(String type, String name, Set<Action> actions) {
    public static final String REPOSITORY = "repository";
    public static final String REGISTRY = "registry";

    public Scope {
        actions = actions.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(actions));
    }

    public static Scope repository(String name, Action... actions) {
        return new Scope(REPOSITORY, name, actions.length == 0 ? Set.of() : EnumSet.of(actions[0], actions));
    }

    public static Scope catalog() {
        return new Scope(REGISTRY, "catalog", EnumSet.of(Action.CATALOG));
    }

    /**
     * Parses {@code type:name:actions}; the name may itself contain colons (a port), so the type is
     * before the first colon and the actions after the last. Unknown actions are dropped. Null when
     * the text is not a scope at all.
     */
    public static @Nullable Scope parse(String text) {
        int first = text.indexOf(':');
        int last = text.lastIndexOf(':');
        if (first <= 0 || last <= first + 1) {
            return null;
        }
        Set<Action> actions = EnumSet.noneOf(Action.class);
        for (String a : text.substring(last + 1).split(",")) {
            Action action = Action.fromWire(a.strip());
            if (action != null) {
                actions.add(action);
            }
        }
        return new Scope(text.substring(0, first), text.substring(first + 1, last), actions);
    }

    /** Parses the space-separated scopes of one {@code scope} parameter (several may also be sent). */
    public static List<Scope> parseAll(List<String> params) {
        List<Scope> out = new ArrayList<>();
        for (String param : params) {
            for (String s : param.trim().split("\\s+")) {
                Scope scope = s.isEmpty() ? null : parse(s);
                if (scope != null) {
                    out.add(scope);
                }
            }
        }
        return out;
    }

    public Scope withActions(Set<Action> granted) {
        return new Scope(type, name, granted);
    }

    @Override
    public String toString() {
        return type + ":" + name + ":" + actions.stream().map(Action::wire).collect(Collectors.joining(","));
    }
}
