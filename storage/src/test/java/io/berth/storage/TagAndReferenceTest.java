package io.berth.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TagAndReferenceTest {
    private static final String HEX = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    @ParameterizedTest
    @ValueSource(strings = {"latest", "v1.0.0", "_x", "A", "1", "a-b_c.d", "UPPER"})
    void acceptsTagsOfTheSpecGrammar(String tag) {
        assertThat(Tag.of(tag).value()).isEqualTo(tag);
        assertThat(Tag.of(tag)).hasToString(tag);
    }

    @Test
    void acceptsTagsOfExactly128Characters() {
        assertThat(Tag.of("t".repeat(128)).value()).hasSize(128);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "..", ".x", "-x", "a:b", "a/b", "a b", "a%2F", "ä", "a\n"})
    void refusesTagsOutsideTheGrammar(String tag) {
        assertThatThrownBy(() -> Tag.of(tag))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.TAG_INVALID));
    }

    @Test
    void refusesTagsLongerThan128Characters() {
        assertThatThrownBy(() -> Tag.of("t".repeat(129)))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.TAG_INVALID));
    }

    @Test
    void tagsOrderByTheirBytesAsRegistry2SortsThem() {
        assertThat(Tag.of("10").compareTo(Tag.of("9"))).isNegative();
        assertThat(Tag.of("B").compareTo(Tag.of("a"))).isNegative();
        assertThat(Tag.of("a").compareTo(Tag.of("a"))).isZero();
    }

    @Test
    void referenceWithoutColonIsATag() {
        assertThat(Reference.parse("latest")).isEqualTo(new Reference.ByTag(Tag.of("latest")));
        assertThat(Reference.parse("latest")).hasToString("latest");
    }

    @Test
    void referenceWithColonIsADigest() {
        Reference r = Reference.parse("sha256:" + HEX);

        assertThat(r).isEqualTo(new Reference.ByDigest(Digest.parse("sha256:" + HEX)));
        assertThat(r).hasToString("sha256:" + HEX);
    }

    @Test
    void malformedDigestReferenceIsDigestInvalidNotTagInvalid() {
        assertThatThrownBy(() -> Reference.parse("sha256:abc"))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.DIGEST_INVALID));
    }

    @Test
    void malformedTagReferenceIsTagInvalid() {
        assertThatThrownBy(() -> Reference.parse("bad!tag"))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.TAG_INVALID));
    }
}
