package io.berth.auth;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Who may do what to which repository: the ordered rules of {@code berth.access}.
 *
 * <p>The first rule that matches both the principal and the repository decides: its actions are exactly what is
 * granted there, so a matching rule with fewer actions does not fall through to later rules, and a rule with no
 * actions denies. When rules are present, anything no rule grants is denied. With no rules at all, any
 * authenticated principal may do anything and anonymous requests may do nothing, as registry:2 behaves.
 *
 * <p>Listing the catalog ({@code registry:catalog:*}) is granted by any rule that matches the principal and
 * includes {@link Action#CATALOG}, whatever its repository patterns. Names that are not valid repository names
 * (from a token request, say) are granted nothing.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class AccessRules {
    private static final Set<Action> REPOSITORY_ACTIONS =
            Collections.unmodifiableSet(EnumSet.of(Action.PULL, Action.PUSH, Action.DELETE));
    private static final String CATALOG = "catalog";

    private final List<CompiledRule> rules;

    private record CompiledRule(AccessRule rule, List<Glob> repositories) {
        boolean matches(Principal principal, String repository) {
            if (!rule.appliesTo(principal)) {
                return false;
            }
            for (Glob glob : repositories) {
                if (glob.matches(repository)) {
                    return true;
                }
            }
            return false;
        }
    }

    private AccessRules(List<CompiledRule> rules) {
        this.rules = rules;
    }

    /**
     * Checks and compiles the rules, in order.
     *
     * @throws IllegalArgumentException naming the rule ({@code berth.access[2]}) for a blank account, an empty
     *     list of repositories, or a pattern with characters a repository name cannot have
     */
    public static AccessRules of(List<AccessRule> rules) {
        List<CompiledRule> compiled = new ArrayList<>(rules.size());
        for (int i = 0; i < rules.size(); i++) {
            AccessRule rule = rules.get(i);
            String where = "berth.access[" + i + "]";
            if (rule.account().isBlank()) {
                throw new IllegalArgumentException(where + ": the account is empty; name a user, \"*\" or \"anonymous\"");
            }
            if (rule.repositories().isEmpty()) {
                throw new IllegalArgumentException(where + " (account " + Messages.quote(rule.account())
                        + "): the list of repositories is empty; use \"**\" for all of them");
            }
            List<Glob> globs = new ArrayList<>(rule.repositories().size());
            for (int r = 0; r < rule.repositories().size(); r++) {
                try {
                    globs.add(Glob.repository(rule.repositories().get(r)));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(where + ".repositories[" + r + "]: " + e.getMessage(), e);
                }
            }
            compiled.add(new CompiledRule(rule, List.copyOf(globs)));
        }
        return new AccessRules(List.copyOf(compiled));
    }

    /** No rules: registry:2's behaviour, where any authenticated principal may do anything. */
    public static AccessRules none() {
        return new AccessRules(List.of());
    }

    /**
     * What the principal may do to the repository: a subset of pull, push and delete (never {@link Action#CATALOG},
     * which is not a repository action). Empty for a name outside the repository grammar.
     */
    public Set<Action> granted(Principal principal, String repository) {
        if (!Glob.isRepositoryName(repository)) {
            return Set.of();
        }
        if (rules.isEmpty()) {
            return principal.anonymous() ? Set.of() : REPOSITORY_ACTIONS;
        }
        for (CompiledRule rule : rules) {
            if (rule.matches(principal, repository)) {
                Set<Action> actions = EnumSet.noneOf(Action.class);
                actions.addAll(rule.rule().actions());
                actions.retainAll(REPOSITORY_ACTIONS);
                return Collections.unmodifiableSet(actions);
            }
        }
        return Set.of();
    }

    /** Whether the principal may list the catalog. */
    public boolean mayListCatalog(Principal principal) {
        if (rules.isEmpty()) {
            return !principal.anonymous();
        }
        for (CompiledRule rule : rules) {
            if (rule.rule().appliesTo(principal) && rule.rule().actions().contains(Action.CATALOG)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether every action of the scope is granted. A {@code registry:catalog} scope needs {@link Action#CATALOG};
     * scopes of other types, and scopes without actions, are never allowed.
     */
    public boolean allows(Principal principal, Scope scope) {
        if (scope.actions().isEmpty()) {
            return false;
        }
        return grant(principal, scope).actions().containsAll(scope.actions());
    }

    /**
     * The part of the requested scope that is granted: the same type and name, with the actions that are both
     * requested and granted (possibly none). This is what the token issuer puts in a token's access claim.
     */
    public Scope grant(Principal principal, Scope requested) {
        Set<Action> granted;
        if (isCatalog(requested)) {
            granted = mayListCatalog(principal) ? EnumSet.of(Action.CATALOG) : Set.of();
        } else if (requested.type().equals(Scope.REPOSITORY)) {
            granted = granted(principal, requested.name());
        } else {
            granted = Set.of();
        }
        Set<Action> both = EnumSet.noneOf(Action.class);
        both.addAll(requested.actions());
        both.retainAll(granted);
        return requested.withActions(both);
    }

    /** Whether the repository may appear in the principal's {@code /v2/_catalog}: whether it may pull it. */
    public boolean mayList(Principal principal, String repository) {
        return granted(principal, repository).contains(Action.PULL);
    }

    private static boolean isCatalog(Scope scope) {
        return scope.type().equals(Scope.REGISTRY) && scope.name().equals(CATALOG);
    }

    @Override
    public String toString() {
        return "AccessRules" + rules.stream().map(CompiledRule::rule).toList();
    }
}
