package io.berth.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class AccessRulesTest {
    private static final Principal ALICE = Principal.of("alice");
    private static final Principal BOB = Principal.of("bob");
    private static final Set<Action> ALL = EnumSet.of(Action.PULL, Action.PUSH, Action.DELETE);

    private static AccessRule rule(String account, String repository, Action... actions) {
        return AccessRule.of(account, List.of(repository), actions);
    }

    @Test
    void withoutRulesAnyAuthenticatedPrincipalMayDoAnything() {
        AccessRules rules = AccessRules.none();

        assertThat(rules.granted(ALICE, "team/app")).isEqualTo(ALL);
        assertThat(rules.allows(ALICE, Scope.repository("team/app", Action.PULL, Action.PUSH, Action.DELETE))).isTrue();
        assertThat(rules.allows(ALICE, Scope.catalog())).isTrue();
        assertThat(rules.mayList(ALICE, "team/app")).isTrue();
    }

    @Test
    void withoutRulesAnonymousMayDoNothing() {
        AccessRules rules = AccessRules.of(List.of());

        assertThat(rules.granted(Principal.ANONYMOUS, "team/app")).isEmpty();
        assertThat(rules.allows(Principal.ANONYMOUS, Scope.repository("team/app", Action.PULL))).isFalse();
        assertThat(rules.allows(Principal.ANONYMOUS, Scope.catalog())).isFalse();
        assertThat(rules.mayList(Principal.ANONYMOUS, "team/app")).isFalse();
    }

    @Test
    void firstRuleMatchingPrincipalAndRepositoryWins() {
        AccessRules rules = AccessRules.of(List.of(
                rule("alice", "team/app", Action.PULL),
                rule("alice", "team/**", Action.PULL, Action.PUSH, Action.DELETE)));

        assertThat(rules.granted(ALICE, "team/app")).containsExactly(Action.PULL);
        assertThat(rules.granted(ALICE, "team/other")).isEqualTo(ALL);
    }

    @Test
    void matchingRuleWithFewerActionsDoesNotFallThrough() {
        AccessRules rules = AccessRules.of(List.of(
                rule("*", "prod/**", Action.PULL),
                rule("alice", "prod/**", Action.PULL, Action.PUSH)));

        assertThat(rules.allows(ALICE, Scope.repository("prod/api", Action.PUSH))).isFalse();
        assertThat(rules.allows(ALICE, Scope.repository("prod/api", Action.PULL))).isTrue();
    }

    @Test
    void ruleWithoutActionsDenies() {
        AccessRules rules = AccessRules.of(List.of(
                rule("bob", "secret/**"),
                rule("*", "**", Action.PULL)));

        assertThat(rules.granted(BOB, "secret/keys")).isEmpty();
        assertThat(rules.granted(BOB, "public/app")).containsExactly(Action.PULL);
        assertThat(rules.granted(ALICE, "secret/keys")).containsExactly(Action.PULL);
    }

    @Test
    void ruleForAnotherAccountIsSkipped() {
        AccessRules rules = AccessRules.of(List.of(
                rule("bob", "**", Action.PULL, Action.PUSH),
                rule("alice", "**", Action.PULL)));

        assertThat(rules.granted(ALICE, "team/app")).containsExactly(Action.PULL);
        assertThat(rules.granted(BOB, "team/app")).containsExactly(Action.PULL, Action.PUSH);
    }

    @Test
    void whenRulesExistAnythingNoRuleGrantsIsDenied() {
        AccessRules rules = AccessRules.of(List.of(rule("alice", "team/*", Action.PULL)));

        assertThat(rules.granted(BOB, "team/app")).isEmpty();
        assertThat(rules.granted(ALICE, "other/app")).isEmpty();
        assertThat(rules.allows(ALICE, Scope.repository("team/app", Action.PUSH))).isFalse();
        assertThat(rules.allows(ALICE, Scope.catalog())).isFalse();
    }

    @Test
    void starAccountMatchesAnyAuthenticatedPrincipalButNotAnonymous() {
        AccessRules rules = AccessRules.of(List.of(rule("*", "**", Action.PULL)));

        assertThat(rules.granted(ALICE, "a")).containsExactly(Action.PULL);
        assertThat(rules.granted(Principal.of("*"), "a")).containsExactly(Action.PULL);
        assertThat(rules.granted(Principal.ANONYMOUS, "a")).isEmpty();
    }

    @Test
    void anonymousRuleMatchesOnlyRequestsWithoutCredentials() {
        AccessRules rules = AccessRules.of(List.of(rule("anonymous", "public/**", Action.PULL)));

        assertThat(rules.granted(Principal.ANONYMOUS, "public/app")).containsExactly(Action.PULL);
        assertThat(rules.granted(ALICE, "public/app")).isEmpty();
        // An htpasswd account that happens to be called "anonymous" is not the anonymous principal.
        assertThat(rules.granted(Principal.of("anonymous"), "public/app")).isEmpty();
    }

    @Test
    void accountsMatchExactlyIncludingUnicode() {
        AccessRules rules = AccessRules.of(List.of(rule("jürgen", "**", Action.PULL)));

        assertThat(rules.granted(Principal.of("jürgen"), "a")).containsExactly(Action.PULL);
        assertThat(rules.granted(Principal.of("jurgen"), "a")).isEmpty();
        assertThat(rules.granted(Principal.of("Jürgen"), "a")).isEmpty();
        assertThat(rules.granted(Principal.of("jürgen "), "a")).isEmpty();
    }

    @ParameterizedTest
    @CsvSource({
        "team/*, team/app, true",
        "team/*, team/app/sub, false",
        "team/*, team, false",
        "team/*, teams/app, false",
        "team/**, team/app/sub/deeper, true",
        "team/**, team/app, true",
        "team/**, team, false",
        "team/**/app, team/app, true",
        "team/**/app, team/x/app, true",
        "team/**/app, team/x/y/app, true",
        "team/**/app, team/xapp, false",
        "team/**/app, team/x/app/more, false",
        "**/app, app, true",
        "**/app, a/b/app, true",
        "**/app, a/bapp, false",
        "**, anything/at/all, true",
        "*, top, true",
        "*, top/level, false",
        "*-dev, app-dev, true",
        "*-dev, team/app-dev, false",
        "team/*-dev, team/app-dev, true",
        "team**, team/x/y, true",
        "team**, teamx, true",
        "team.app, team.app, true",
        "team.app, teamxapp, false",
        "a*b*c, abc, true",
        "a*b*c, axxbyyc, true",
        "a*b*c, axxb/yyc, false",
        "a**b*c, ax/xbyyc, true",
    })
    void globsMatchAsDocumented(String glob, String repository, boolean matches) {
        AccessRules rules = AccessRules.of(List.of(rule("alice", glob, Action.PULL)));

        assertThat(rules.mayList(ALICE, repository)).as("%s ~ %s", glob, repository).isEqualTo(matches);
    }

    @Test
    void anyOfARulesRepositoriesMatches() {
        AccessRules rules = AccessRules.of(List.of(
                AccessRule.of("alice", List.of("one/*", "two/**", "three"), Action.PULL)));

        assertThat(rules.mayList(ALICE, "one/x")).isTrue();
        assertThat(rules.mayList(ALICE, "two/x/y")).isTrue();
        assertThat(rules.mayList(ALICE, "three")).isTrue();
        assertThat(rules.mayList(ALICE, "four")).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Team/App", "team/../app", "../etc", "/team", "team/", "team//app", "team app", "team\u0000app",
            "team\napp", "team%2fapp", "ｔｅａｍ", "-team", "team/_manifests"})
    void namesOutsideTheRepositoryGrammarAreGrantedNothing(String repository) {
        AccessRules rules = AccessRules.of(List.of(rule("*", "**", Action.PULL, Action.PUSH)));

        assertThat(rules.granted(ALICE, repository)).isEmpty();
        assertThat(rules.allows(ALICE, Scope.repository(repository, Action.PULL))).isFalse();
        assertThat(AccessRules.none().granted(ALICE, repository)).isEmpty();
    }

    @Test
    void nameOf256CharactersIsGrantedNothing() {
        AccessRules rules = AccessRules.none();
        String longest = "a".repeat(127) + "/" + "b".repeat(127);

        assertThat(rules.granted(ALICE, longest)).isEqualTo(ALL);
        assertThat(rules.granted(ALICE, longest + "b")).isEmpty();
    }

    @Test
    void hostilePatternAgainstALongNameAnswersQuickly() {
        // As a backtracking regex, this takes over a minute against 255 a's.
        AccessRules rules = AccessRules.of(List.of(rule("*", "**a*a*a*a*a*a*a*a*a*a*b", Action.PULL)));
        String name = "a".repeat(255);

        assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
            for (int i = 0; i < 100; i++) {
                assertThat(rules.granted(ALICE, name)).isEmpty();
            }
        });
    }

    @Test
    void catalogIsGrantedByARuleWithCatalogWhateverItsRepositories() {
        AccessRules rules = AccessRules.of(List.of(
                rule("alice", "team/app", Action.PULL),
                rule("alice", "nothing/matches/this", Action.CATALOG),
                rule("bob", "**", Action.PULL, Action.PUSH)));

        assertThat(rules.allows(ALICE, Scope.catalog())).isTrue();
        assertThat(rules.allows(BOB, Scope.catalog())).isFalse();
        assertThat(rules.allows(Principal.ANONYMOUS, Scope.catalog())).isFalse();
    }

    @Test
    void anonymousMayBeGrantedTheCatalog() {
        AccessRules rules = AccessRules.of(List.of(rule("anonymous", "**", Action.PULL, Action.CATALOG)));

        assertThat(rules.allows(Principal.ANONYMOUS, Scope.catalog())).isTrue();
        assertThat(rules.allows(ALICE, Scope.catalog())).isFalse();
    }

    @Test
    void catalogIsNotARepositoryAction() {
        AccessRules rules = AccessRules.of(List.of(rule("alice", "**", Action.PULL, Action.CATALOG)));

        assertThat(rules.granted(ALICE, "team/app")).containsExactly(Action.PULL);
        Scope star = Scope.parse("repository:team/app:*");
        assertThat(rules.grant(ALICE, star).actions()).isEmpty();
        assertThat(rules.allows(ALICE, star)).isFalse();
    }

    @Test
    void grantIsTheIntersectionOfRequestedAndGranted() {
        AccessRules rules = AccessRules.of(List.of(rule("alice", "team/**", Action.PULL, Action.DELETE)));

        Scope granted = rules.grant(ALICE, Scope.repository("team/app", Action.PULL, Action.PUSH));

        assertThat(granted).isEqualTo(Scope.repository("team/app", Action.PULL));
        assertThat(granted).hasToString("repository:team/app:pull");
        assertThat(rules.grant(BOB, Scope.repository("team/app", Action.PULL))).isEqualTo(new Scope("repository", "team/app", Set.of()));
        assertThat(rules.grant(ALICE, Scope.repository("other", Action.PULL)).actions()).isEmpty();
    }

    @Test
    void grantOfTheCatalogScope() {
        AccessRules rules = AccessRules.of(List.of(rule("alice", "**", Action.CATALOG)));

        assertThat(rules.grant(ALICE, Scope.catalog())).isEqualTo(Scope.catalog());
        assertThat(rules.grant(BOB, Scope.catalog()).actions()).isEmpty();
    }

    @Test
    void scopesOfOtherTypesAreNeverGranted() {
        AccessRules rules = AccessRules.none();

        assertThat(rules.grant(ALICE, Scope.parse("registry:other:*")).actions()).isEmpty();
        assertThat(rules.grant(ALICE, Scope.parse("plugin:team/app:pull")).actions()).isEmpty();
        assertThat(rules.allows(ALICE, Scope.parse("registry:catalog:pull"))).isFalse();
        assertThat(rules.allows(ALICE, new Scope("repository", "team/app", Set.of()))).isFalse();
    }

    @Test
    void allowsNeedsEveryRequestedAction() {
        AccessRules rules = AccessRules.of(List.of(rule("alice", "**", Action.PULL, Action.PUSH)));

        assertThat(rules.allows(ALICE, Scope.repository("a", Action.PULL, Action.PUSH))).isTrue();
        assertThat(rules.allows(ALICE, Scope.repository("a", Action.PULL, Action.PUSH, Action.DELETE))).isFalse();
    }

    @Test
    void mayListMeansMayPull() {
        AccessRules rules = AccessRules.of(List.of(
                rule("alice", "pushonly/*", Action.PUSH),
                rule("alice", "**", Action.PULL)));

        assertThat(rules.mayList(ALICE, "pushonly/app")).isFalse();
        assertThat(rules.mayList(ALICE, "team/app")).isTrue();
        assertThat(rules.mayList(BOB, "team/app")).isFalse();
    }

    @Test
    void emptyRepositoriesAreRefusedNamingTheRule() {
        List<AccessRule> rules = List.of(rule("*", "**", Action.PULL), AccessRule.of("alice", List.of(), Action.PULL));

        assertThatThrownBy(() -> AccessRules.of(rules))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("berth.access[1]")
                .hasMessageContaining("repositories is empty");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "team/App | 'A'",
        "team/a?p | '?'",
        "team/[ab] | '['",
        "team/a b | U+0020",
        "team/(x) | '('",
        "team\\app | '\\'",
        "team/a+ | '+'",
        "^team$ | '^'",
        "team/*** | 3 stars",
        "\"\" | empty",
    })
    void invalidPatternsAreRefusedNamingTheRuleAndPattern(String pattern, String problem) {
        List<AccessRule> rules = List.of(rule("*", "**", Action.PULL), AccessRule.of("bob", List.of("ok/*", pattern), Action.PULL));

        assertThatThrownBy(() -> AccessRules.of(rules))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("berth.access[1].repositories[1]: ")
                .hasMessageContaining(problem);
    }

    @Test
    void blankAccountIsRefusedNamingTheRule() {
        assertThatThrownBy(() -> AccessRules.of(List.of(rule(" ", "**", Action.PULL))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("berth.access[0]");
    }

    @Test
    void anyAccountStringIsAccepted() {
        AccessRules rules = AccessRules.of(List.of(rule("system:serviceaccount:ci:builder", "**", Action.PULL)));

        assertThat(rules.granted(Principal.of("system:serviceaccount:ci:builder"), "a")).containsExactly(Action.PULL);
    }

    @Test
    void rulesAreCopiedSoLaterChangesDoNotLeakIn() {
        List<String> repositories = new ArrayList<>(List.of("team/*"));
        Set<Action> actions = EnumSet.of(Action.PULL);
        AccessRule rule = new AccessRule("alice", repositories, actions);
        AccessRules rules = AccessRules.of(List.of(rule));

        repositories.add("**");
        actions.add(Action.PUSH);

        assertThat(rules.granted(ALICE, "other/app")).isEmpty();
        assertThat(rules.granted(ALICE, "team/app")).containsExactly(Action.PULL);
    }
}
