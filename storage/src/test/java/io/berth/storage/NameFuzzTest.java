package io.berth.storage;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.code_intelligence.jazzer.mutation.annotation.NotNull;
import java.nio.file.Path;

/**
 * Fuzzes what a URL names: repository names, references (tags and digests) and digests are either valid values that
 * read back as the same text and stay inside the storage root, or a StorageException with the spec's error code.
 * Seeds: {@code src/test/resources/io/berth/storage/NameFuzzTestInputs/}; run longer with {@code scripts/fuzz.sh}.
 */
class NameFuzzTest {
    private static final Path ROOT = Path.of("/registry/docker/registry/v2/repositories");

    @FuzzTest
    void anyRepositoryNameIsValidAndStaysUnderTheRootOrNameInvalid(@NotNull String text) {
        RepositoryName name;
        try {
            name = RepositoryName.of(text);
        } catch (StorageException e) {
            assertThat(e.problem()).isEqualTo(Problem.NAME_INVALID);
            return;
        }
        assertThat(name.value()).isEqualTo(text).hasSizeBetween(1, RepositoryName.MAX_LENGTH);
        Path resolved = ROOT.resolve(name.value()).normalize();
        assertThat(resolved.startsWith(ROOT)).as(text).isTrue();
        assertThat(resolved).isNotEqualTo(ROOT);
        assertThat(resolved.getNameCount() - ROOT.getNameCount()).isEqualTo(text.split("/", -1).length);
    }

    @FuzzTest
    void anyReferenceIsATagOrADigestOrRefusedWithItsCode(@NotNull String text) {
        Reference reference;
        try {
            reference = Reference.parse(text);
        } catch (StorageException e) {
            assertThat(e.problem()).isIn(Problem.TAG_INVALID, Problem.DIGEST_INVALID);
            return;
        }
        assertThat(reference.toString()).isEqualTo(text);
        assertThat(Reference.parse(reference.toString())).isEqualTo(reference);
        if (reference instanceof Reference.ByTag(Tag tag)) {
            assertThat(tag.value()).hasSizeBetween(1, 128).doesNotContain("/", ":");
            assertThat(Path.of("/tags").resolve(tag.value()).normalize().getParent()).isEqualTo(Path.of("/tags"));
        }
    }

    @FuzzTest
    void anyDigestIsCanonicalOrDigestInvalid(@NotNull String text) {
        Digest digest;
        try {
            digest = Digest.parse(text);
        } catch (StorageException e) {
            assertThat(e.problem()).isEqualTo(Problem.DIGEST_INVALID);
            return;
        }
        assertThat(digest.toString()).isEqualTo(text);
        assertThat(digest.hex()).matches("[0-9a-f]+").hasSize(digest.algorithm().hexLength());
        assertThat(Digest.looksLikeDigest(text)).isTrue();
        assertThat(Digest.parse(digest.toString())).isEqualTo(digest);
    }
}
