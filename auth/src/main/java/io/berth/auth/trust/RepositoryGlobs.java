package io.berth.auth.trust;

import io.berth.auth.AccessRule;
import io.berth.auth.AccessRules;
import io.berth.auth.Action;
import io.berth.auth.Principal;
import java.util.List;

/**
 * The repository globs of one trust rule, with exactly the syntax and matching of {@code berth.access}. The glob
 * engine is not public outside {@code io.berth.auth}, so this asks {@link AccessRules} itself: a one-rule policy
 * granting pull on the globs matches a repository exactly when the globs do.
 */
final class RepositoryGlobs {
    private static final Principal ASKER = Principal.of("berth-trust");
    /** Grants pull on every valid repository name, and nothing on any other string. */
    private static final AccessRules EVERY_NAME = grantPullOn(List.of("**"));

    private final AccessRules rules;

    private RepositoryGlobs(AccessRules rules) {
        this.rules = rules;
    }

    /**
     * Compiles the globs.
     *
     * @throws IllegalArgumentException naming the rule and glob ({@code berth.trust[1].repositories[0]})
     */
    static RepositoryGlobs compile(List<String> globs, String where) {
        for (int i = 0; i < globs.size(); i++) {
            try {
                grantPullOn(List.of(globs.get(i)));
            } catch (IllegalArgumentException e) {
                // AccessRules names its own rule ("berth.access[0].repositories[0]: ..."); name ours instead
                String message = String.valueOf(e.getMessage());
                int colon = message.indexOf(": ");
                throw new IllegalArgumentException(where + ".repositories[" + i + "]: "
                        + (colon >= 0 ? message.substring(colon + 2) : message), e);
            }
        }
        return new RepositoryGlobs(grantPullOn(globs));
    }

    /** Whether one of the globs matches the repository, which must be a valid repository name. */
    boolean matches(String repository) {
        return rules.granted(ASKER, repository).contains(Action.PULL);
    }

    /** Whether the name is in the distribution spec's repository grammar (and at most 255 characters). */
    static boolean isRepositoryName(String name) {
        return EVERY_NAME.granted(ASKER, name).contains(Action.PULL);
    }

    private static AccessRules grantPullOn(List<String> globs) {
        return AccessRules.of(List.of(AccessRule.of(AccessRule.ANY_ACCOUNT, globs, Action.PULL)));
    }
}
