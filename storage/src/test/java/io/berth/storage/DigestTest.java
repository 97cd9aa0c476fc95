package io.berth.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class DigestTest {
    private static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    private static final String ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    private static final String ABC_SHA512 = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

    @Test
    void parsesSha256AndPrintsItBackUnchanged() {
        Digest d = Digest.parse("sha256:" + ABC_SHA256);

        assertThat(d.algorithm()).isEqualTo(DigestAlgorithm.SHA256);
        assertThat(d.hex()).isEqualTo(ABC_SHA256);
        assertThat(d).hasToString("sha256:" + ABC_SHA256);
    }

    @Test
    void parsesSha512() {
        Digest d = Digest.parse("sha512:" + ABC_SHA512);

        assertThat(d.algorithm()).isEqualTo(DigestAlgorithm.SHA512);
        assertThat(d.algorithm().prefix()).isEqualTo("sha512");
        assertThat(d).hasToString("sha512:" + ABC_SHA512);
    }

    @Test
    void sha256OfContentMatchesKnownVectors() {
        assertThat(Digest.sha256(new byte[0])).hasToString("sha256:" + EMPTY_SHA256);
        assertThat(Digest.sha256(Fixtures.utf8("abc"))).hasToString("sha256:" + ABC_SHA256);
    }

    @Test
    void equalDigestsAreEqualValues() {
        assertThat(Digest.parse("sha256:" + ABC_SHA256)).isEqualTo(Digest.sha256(Fixtures.utf8("abc")));
        assertThat(Digest.parse("sha256:" + ABC_SHA256)).isNotEqualTo(Digest.sha256(new byte[0]));
    }

    @ParameterizedTest
    @ValueSource(strings = {"md5:d41d8cd98f00b204e9800998ecf8427e", "sha384:abc", "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "SHA256:" + ABC_SHA256, "blake3:" + ABC_SHA256})
    void refusesUnknownAlgorithms(String text) {
        assertDigestInvalid(text);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "sha256:" + "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a", // 63
            "sha256:" + ABC_SHA256 + "0", // 65
            "sha256:" + "",
            "sha512:" + ABC_SHA256, // a sha256-length hex under sha512
            "sha256:" + ABC_SHA512})
    void refusesHexOfTheWrongLength(String text) {
        assertDigestInvalid(text);
    }

    @Test
    void refusesUppercaseHex() {
        assertDigestInvalid("sha256:" + ABC_SHA256.toUpperCase(java.util.Locale.ROOT));
        assertDigestInvalid("sha256:B" + ABC_SHA256.substring(1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "sha256", ":" + ABC_SHA256, "sha256::" + ABC_SHA256, " sha256:" + ABC_SHA256,
            "sha256:" + ABC_SHA256 + "\n", "sha256:g" + "a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256:../../etc/passwd",
            "sha256:" + ABC_SHA256 + "/x", "sha256%3A" + ABC_SHA256, "latest"})
    void refusesMalformedText(String text) {
        assertDigestInvalid(text);
    }

    @Test
    void refusesOverlongTextWithoutEchoingAllOfIt() {
        String text = "sha256:" + "a".repeat(10_000);

        assertThatThrownBy(() -> Digest.parse(text))
                .isInstanceOfSatisfying(StorageException.class, e -> {
                    assertThat(e.problem()).isEqualTo(Problem.DIGEST_INVALID);
                    assertThat(e.getMessage()).hasSizeLessThan(200);
                });
    }

    @Test
    void constructorValidatesHexToo() {
        assertThatThrownBy(() -> new Digest(DigestAlgorithm.SHA256, "abc"))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.DIGEST_INVALID));
        assertThatThrownBy(() -> new Digest(DigestAlgorithm.SHA512, ABC_SHA256))
                .isInstanceOf(StorageException.class);
    }

    @Test
    void looksLikeDigestTellsDigestsFromTags() {
        assertThat(Digest.looksLikeDigest("sha256:" + ABC_SHA256)).isTrue();
        assertThat(Digest.looksLikeDigest("sha256:short")).isTrue();
        assertThat(Digest.looksLikeDigest("latest")).isFalse();
        assertThat(Digest.looksLikeDigest(":x")).isFalse();
    }

    private static void assertDigestInvalid(String text) {
        assertThatThrownBy(() -> Digest.parse(text))
                .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.problem()).isEqualTo(Problem.DIGEST_INVALID));
    }
}
