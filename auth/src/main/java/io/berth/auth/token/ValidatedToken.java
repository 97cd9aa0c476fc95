package io.berth.auth.token;

import io.berth.auth.Action;
import io.berth.auth.Principal;
import io.berth.auth.Scope;
import java.time.Instant;
import java.util.List;

/**
 * A bearer token that {@link TokenValidator} accepted: who it was issued to and what it grants. The validator only
 * reports the grant; deciding whether a request is covered is {@link #grants}'s job, or the caller's.
 *
 * @param subject the {@code sub} claim; empty for an anonymous token
 * @param access the {@code access} claim: one scope per type and name, unknown actions dropped. The wire action
 *     {@code *} appears as {@link Action#CATALOG}; distribution reads it as "every action on this resource"
 * @param expiresAt the {@code exp} claim
 */
public record ValidatedToken(String subject, List<Scope> access, Instant expiresAt) {
    public ValidatedToken {
        access = List.copyOf(access);
    }

    /** The token's subject as a principal: {@link Principal#ANONYMOUS} when {@code sub} is empty. */
    public Principal principal() {
        return subject.isEmpty() ? Principal.ANONYMOUS : Principal.of(subject);
    }

    /**
     * Whether the token grants every action of {@code requested}, the way distribution's access controller decides:
     * the type and name must match exactly, and {@code *} in the token grants any action on that resource. A request
     * with no action at all is refused.
     */
    public boolean grants(Scope requested) {
        if (requested.actions().isEmpty()) {
            return false;
        }
        for (Scope scope : access) {
            if (scope.type().equals(requested.type()) && scope.name().equals(requested.name())) {
                return scope.actions().contains(Action.CATALOG) || scope.actions().containsAll(requested.actions());
            }
        }
        return false;
    }
}
