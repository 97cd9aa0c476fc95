package io.berth.storage;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.jspecify.annotations.Nullable;

/**
 * Fuzzes the manifest parser: any body, with any Content-Type, is either a manifest or a MANIFEST_INVALID refusal.
 * Seeds: {@code src/test/resources/io/berth/storage/ManifestFuzzTestInputs/}; run longer with {@code scripts/fuzz.sh}.
 */
class ManifestFuzzTest {
    private static final String[] DECLARED = {
        MediaTypes.OCI_MANIFEST, MediaTypes.OCI_INDEX, MediaTypes.DOCKER_MANIFEST, MediaTypes.DOCKER_MANIFEST_LIST,
    };

    /**
     * The first byte picks the Content-Type (none, one of the four manifest types, or fuzzed text); the rest is the
     * body. Whenever a body parses with a Content-Type, it parses the same without one (what the parser promises, and
     * what lets a stored manifest be served by its own shape).
     */
    @FuzzTest
    void anyBodyIsAManifestOrManifestInvalid(FuzzedDataProvider data) {
        int pick = data.consumeInt(0, DECLARED.length + 1);
        @Nullable String declared = pick == 0 ? null
                : pick <= DECLARED.length ? DECLARED[pick - 1] : data.consumeString(80);
        byte[] body = data.consumeRemainingAsBytes();

        ParsedManifest parsed;
        try {
            parsed = ParsedManifest.parse(body, declared);
        } catch (StorageException e) {
            assertThat(e.problem()).as(e.getMessage()).isEqualTo(Problem.MANIFEST_INVALID);
            assertThat(e.getMessage()).isNotBlank();
            return;
        }
        assertThat(MediaTypes.isManifest(parsed.mediaType())).as(parsed.mediaType()).isTrue();
        if (MediaTypes.INDEXES.contains(parsed.mediaType())) {
            assertThat(parsed.blobs()).isEmpty();
        } else {
            assertThat(parsed.children()).isEmpty();
            assertThat(parsed.blobs()).isNotEmpty(); // the config, at least
        }
        if (declared != null) {
            ParsedManifest byShape = ParsedManifest.parse(body, null);
            assertThat(byShape.mediaType()).isEqualTo(parsed.mediaType());
            assertThat(byShape.blobs()).isEqualTo(parsed.blobs());
            assertThat(byShape.children()).isEqualTo(parsed.children());
        }
    }
}
