package io.berth.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.berth.auth.TagPolicy.Decision;
import io.berth.auth.TagPolicy.ImmutableTags;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TagPolicyTest {
    private static final String OLD = "sha256:" + "a".repeat(64);
    private static final String NEW = "sha256:" + "b".repeat(64);
    private static final String COSIGN = "sha256-" + "0123456789abcdef".repeat(4);

    private static final TagPolicy POLICY = TagPolicy.of(
            List.of(new ImmutableTags(List.of("team/*"), List.of("v*")),
                    new ImmutableTags(List.of("prod/**", "release"), List.of("*"))),
            List.of("latest", "tmp-*"));

    @Test
    void pushingToImmutableTagWithNewDigestIsDenied() {
        Decision decision = POLICY.checkPush("team/app", "v1", OLD, NEW);

        assertThat(decision.allowed()).isFalse();
        assertThat(decision).isInstanceOfSatisfying(Decision.Denied.class, d -> assertThat(d.message())
                .startsWith("tag \"v1\" of \"team/app\" is immutable (berth.immutableTags[0])"));
    }

    @Test
    void pushingTheSameDigestToAnImmutableTagIsAllowed() {
        assertThat(POLICY.checkPush("team/app", "v1", OLD, OLD)).isEqualTo(Decision.ALLOWED);
    }

    @Test
    void firstPushOfAnImmutableTagIsAllowed() {
        assertThat(POLICY.checkPush("team/app", "v1", null, NEW).allowed()).isTrue();
    }

    @Test
    void denialNamesTheRuleThatMatched() {
        Decision decision = POLICY.checkPush("prod/eu/api", "stable", OLD, NEW);

        assertThat(decision).isEqualTo(new Decision.Denied(
                "tag \"stable\" of \"prod/eu/api\" is immutable (berth.immutableTags[1]); it already points at \"" + OLD + "\""));
    }

    @Test
    void tagsOutsideTheImmutablePatternsMayMove() {
        assertThat(POLICY.checkPush("team/app", "main", OLD, NEW).allowed()).isTrue();
        assertThat(POLICY.checkPush("team/app", "V1", OLD, NEW).allowed()).isTrue();
        assertThat(POLICY.checkPush("other/app", "v1", OLD, NEW).allowed()).isTrue();
        assertThat(POLICY.checkPush("team/app/sub", "v1", OLD, NEW).allowed()).isTrue();
        assertThat(POLICY.checkPush("releases", "v1", OLD, NEW).allowed()).isTrue();
    }

    @Test
    void deniedTagCannotBePushedWhateverTheDigest() {
        for (String current : new String[] {null, OLD, NEW}) {
            Decision decision = POLICY.checkPush("other/app", "latest", current, NEW);
            assertThat(decision).isEqualTo(new Decision.Denied("tag \"latest\" of \"other/app\" may not be pushed (berth.denyTags[0])"));
        }
    }

    @Test
    void denyTagsMayBeGlobs() {
        assertThat(POLICY.checkPush("other/app", "tmp-123", null, NEW))
                .isEqualTo(new Decision.Denied("tag \"tmp-123\" of \"other/app\" may not be pushed (berth.denyTags[1])"));
        assertThat(POLICY.checkPush("other/app", "tmp", null, NEW).allowed()).isTrue();
        assertThat(POLICY.checkPush("other/app", "latest2", null, NEW).allowed()).isTrue();
        assertThat(POLICY.checkPush("other/app", "Latest", null, NEW).allowed()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".sig", ".att", ".sbom"})
    void cosignTagsAreExemptFromImmutability(String suffix) {
        String tag = COSIGN + suffix;

        assertThat(POLICY.checkPush("prod/api", tag, OLD, NEW).allowed()).isTrue();
        assertThat(POLICY.immutability("prod/api", tag)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"sha256-abc.sig", "sha256-0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF.sig",
            "sha512-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig",
            "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig2",
            "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.foo",
            "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig.att",
            "xsha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})
    void tagsThatOnlyLookLikeCosignsAreNotExempt(String tag) {
        assertThat(POLICY.checkPush("prod/api", tag, OLD, NEW).allowed()).isFalse();
    }

    @Test
    void cosignTagsAreNotExemptFromDenyTags() {
        TagPolicy policy = TagPolicy.of(List.of(), List.of("sha256-*"));

        assertThat(policy.checkPush("team/app", COSIGN + ".sig", null, NEW).allowed()).isFalse();
    }

    @Test
    void cosignExemptionCanBeTurnedOff() {
        TagPolicy policy = TagPolicy.of(List.of(new ImmutableTags(List.of("**"), List.of("*"))), List.of(), false);

        assertThat(policy.checkPush("team/app", COSIGN + ".sig", OLD, NEW).allowed()).isFalse();
        assertThat(policy.immutability("team/app", COSIGN)).isNotNull();
    }

    @Test
    void immutabilityNamesTheTagTheRepositoryAndTheRule() {
        assertThat(POLICY.immutability("team/app", "v2")).isEqualTo("tag \"v2\" of \"team/app\" is immutable (berth.immutableTags[0])");
        assertThat(POLICY.immutability("release", "anything")).isEqualTo("tag \"anything\" of \"release\" is immutable (berth.immutableTags[1])");
    }

    @Test
    void mutableTagsHaveNoImmutability() {
        assertThat(POLICY.immutability("team/app", "main")).isNull();
        assertThat(POLICY.immutability("team/app", "latest")).as("denied for pushes, not immutable").isNull();
        assertThat(POLICY.immutability("other/app", "v1")).isNull();
    }

    @Test
    void noPolicyAllowsEverything() {
        TagPolicy none = TagPolicy.none();

        assertThat(none.checkPush("team/app", "latest", OLD, NEW).allowed()).isTrue();
        assertThat(none.immutability("team/app", "v1")).isNull();
    }

    @Test
    void tagStarMatchesAnyRunOfTagCharacters() {
        TagPolicy policy = TagPolicy.of(List.of(new ImmutableTags(List.of("**"), List.of("v*.*.*", "release-*-final"))), List.of());

        assertThat(policy.immutability("a", "v1.2.3")).isNotNull();
        assertThat(policy.immutability("a", "v1.2.3-rc.1")).isNotNull();
        assertThat(policy.immutability("a", "v1.2")).isNull();
        assertThat(policy.immutability("a", "release-2024_01-final")).isNotNull();
        assertThat(policy.immutability("a", "release-final")).isNull();
    }

    @Test
    void dotInATagPatternIsLiteral() {
        TagPolicy policy = TagPolicy.of(List.of(new ImmutableTags(List.of("**"), List.of("v1.0"))), List.of());

        assertThat(policy.immutability("a", "v1.0")).isNotNull();
        assertThat(policy.immutability("a", "v1x0")).isNull();
        assertThat(policy.immutability("a", "v1.00")).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".hidden", "-x", "has space", "a\nb", "tag:with:colons", "täg", "v1\u0000",
            "x12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678"})
    void invalidTagsAreDenied(String tag) {
        assertThat(TagPolicy.none().checkPush("team/app", tag, null, NEW).allowed()).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Team/app", "../etc", "team//app", "team/app/", "a\nb"})
    void invalidRepositoryNamesAreDenied(String repository) {
        assertThat(TagPolicy.none().checkPush(repository, "v1", null, NEW).allowed()).isFalse();
    }

    @Test
    void hostileTextIsEscapedInMessages() {
        Decision decision = TagPolicy.none().checkPush("team/app", "v1\r\nX-Injected: yes\"", null, NEW);

        assertThat(decision).isInstanceOfSatisfying(Decision.Denied.class, d -> assertThat(d.message())
                .doesNotContain("\n").doesNotContain("\r").contains("\\u000d\\u000a").contains("\\\""));
    }

    @Test
    void hostilePatternAgainstALongTagAnswersQuickly() {
        TagPolicy policy = TagPolicy.of(List.of(new ImmutableTags(List.of("**"), List.of("*a*a*a*a*a*a*a*a*a*a*b"))), List.of());
        String tag = "a".repeat(128);

        assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
            for (int i = 0; i < 100; i++) {
                assertThat(policy.immutability("a", tag)).isNull();
            }
        });
    }

    @Test
    void emptyListsAreRefusedNamingTheEntry() {
        assertThatThrownBy(() -> TagPolicy.of(List.of(new ImmutableTags(List.of("**"), List.of("*")),
                new ImmutableTags(List.of(), List.of("*"))), List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("berth.immutableTags[1].repositories is empty");
        assertThatThrownBy(() -> TagPolicy.of(List.of(new ImmutableTags(List.of("**"), List.of())), List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("berth.immutableTags[0].tags is empty");
    }

    @Test
    void invalidPatternsAreRefusedNamingTheEntry() {
        assertThatThrownBy(() -> TagPolicy.of(List.of(new ImmutableTags(List.of("**"), List.of("v*", "v/1"))), List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("berth.immutableTags[0].tags[1]: ")
                .hasMessageContaining("'/'");
        assertThatThrownBy(() -> TagPolicy.of(List.of(new ImmutableTags(List.of("ok", "Team/*"), List.of("*"))), List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("berth.immutableTags[0].repositories[1]: ")
                .hasMessageContaining("'T'");
        assertThatThrownBy(() -> TagPolicy.of(List.of(), List.of("latest", "bad tag")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("berth.denyTags[1]: ");
        assertThatThrownBy(() -> TagPolicy.of(List.of(), List.of("")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("berth.denyTags[0]: empty tag pattern");
    }
}
