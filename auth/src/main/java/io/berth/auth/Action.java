package io.berth.auth;

import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** What a request does to a repository (or, for {@link #CATALOG}, to the registry). */
public enum Action {
    PULL("pull"),
    PUSH("push"),
    DELETE("delete"),
    /** Listing repositories: the token scope {@code registry:catalog:*}. */
    CATALOG("*");

    private final String wire;

    Action(String wire) {
        this.wire = wire;
    }

    /** The action's name in token scopes and access claims. */
    public String wire() {
        return wire;
    }

    /** Parses a scope or claim action; unknown actions are null (and so are never granted). */
    public static @Nullable Action fromWire(String text) {
        for (Action a : values()) {
            if (a.wire.equals(text)) {
                return a;
            }
        }
        return null;
    }

    /** Parses an action as written in {@code berth.access} rules: pull, push, delete or catalog. */
    public static Action fromConfig(String text) {
        try {
            return valueOf(text.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown action \"" + text + "\"; expected pull, push, delete or catalog");
        }
    }
}
