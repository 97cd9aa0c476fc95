package io.berth.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RepositoryNameTest {

    @ParameterizedTest
    @ValueSource(strings = {"a", "0", "library/ubuntu", "a-b", "a--b", "a_b", "a__b", "a.b", "a/b/c/d", "team/app.v2",
            "blobs", "a/manifests", "a/blobs/uploads", "tags/list"})
    void acceptsNamesOfTheSpecGrammar(String name) {
        assertThat(RepositoryName.of(name).value()).isEqualTo(name);
        assertThat(RepositoryName.of(name)).hasToString(name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "A", "Library/ubuntu", "library/Ubuntu", "..", ".", "a/..", "../a", "a/../b", "a//b", "/a",
            "a/", "a%2Fb", "a%2fb", "%2e%2e", "a b", "a..b", "a___b", "-a", "a-", "_a", "a/_manifests", "a/_uploads",
            "a\u0000b", "a\\b", "ａ", "a:b", "a@b", "a\nb"})
    void refusesNamesOutsideTheGrammar(String name) {
        assertThatThrownBy(() -> RepositoryName.of(name))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.NAME_INVALID));
    }

    @Test
    void acceptsNamesOfExactly255Characters() {
        String name = "a".repeat(127) + "/" + "b".repeat(127);

        assertThat(name).hasSize(255);
        assertThat(RepositoryName.of(name).value()).isEqualTo(name);
    }

    @Test
    void refusesNamesLongerThan255Characters() {
        String name = "a".repeat(128) + "/" + "b".repeat(127);

        assertThat(name).hasSize(256);
        assertThatThrownBy(() -> RepositoryName.of(name))
                .isInstanceOfSatisfying(StorageException.class, e -> {
                    assertThat(e.problem()).isEqualTo(Problem.NAME_INVALID);
                    assertThat(e.getMessage()).hasSizeLessThan(200);
                });
    }

    @Test
    void ordersComponentWiseLikeRegistry2Catalog() {
        List<RepositoryName> names = new ArrayList<>(List.of(
                RepositoryName.of("b"), RepositoryName.of("a-b"), RepositoryName.of("a/b"), RepositoryName.of("a.b"),
                RepositoryName.of("a"), RepositoryName.of("a/b/c"), RepositoryName.of("a/b-c")));

        names.sort(null);

        // '/' sorts before every other character, so a repository's children come right after it.
        assertThat(names).extracting(RepositoryName::value)
                .containsExactly("a", "a/b", "a/b/c", "a/b-c", "a-b", "a.b", "b");
    }
}
