package io.berth.auth;

import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * One entry of {@code berth.access}: which account may do what to which repositories. {@link AccessRules} checks
 * the patterns and evaluates the rules in order.
 *
 * @param account an htpasswd user or token subject, matched exactly; {@code *} for any authenticated account;
 *     {@code anonymous} for requests without credentials
 * @param repositories repository globs: {@code *} within one path segment, {@code **} across segments
 * @param actions what the rule grants; empty denies the repositories to the account. {@link Action#CATALOG}
 *     grants listing the catalog whatever the repositories
 */
public record AccessRule(String account, List<String> repositories, Set<Action> actions) {
    /** The account form that matches any authenticated principal. */
    public static final String ANY_ACCOUNT = "*";
    /** The account form that matches requests without credentials. */
    public static final String ANONYMOUS = "anonymous";

    /** Copies the repositories and actions, so that later changes to the caller's collections do not leak in. */
    public AccessRule {
        repositories = List.copyOf(repositories);
        actions = actions.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(actions));
    }

    /** A rule over the given repositories, granting the given actions. */
    public static AccessRule of(String account, List<String> repositories, Action... actions) {
        return new AccessRule(account, repositories, actions.length == 0 ? Set.of() : EnumSet.of(actions[0], actions));
    }

    boolean appliesTo(Principal principal) {
        if (principal.anonymous()) {
            return account.equals(ANONYMOUS);
        }
        // An htpasswd user that happens to be called "anonymous" is not matched by the anonymous form.
        return account.equals(ANY_ACCOUNT) || !account.equals(ANONYMOUS) && account.equals(principal.name());
    }
}
