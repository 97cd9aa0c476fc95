package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzzes the two range headers a client sends: {@code Range} on a blob GET and {@code Content-Range} on an upload
 * PATCH. Neither parser may throw; what they accept must be consistent. Seeds:
 * {@code src/test/resources/io/berth/server/http/RangeFuzzTestInputs/}.
 */
class RangeFuzzTest {
    /** Any Range header on a blob of any size (the input's last 8 bytes): the whole blob, 416, or a range inside it. */
    @FuzzTest
    void anyRangeHeaderIsTheWholeBlobUnsatisfiableOrInsideIt(FuzzedDataProvider data) {
        long size = data.consumeLong(0, Long.MAX_VALUE);
        String header = data.consumeRemainingAsString();
        ByteRange range = ByteRange.parse(header, size);
        if (range == null || range == ByteRange.UNSATISFIABLE) {
            return;
        }
        assertThat(range.start()).isBetween(0L, size - 1);
        assertThat(range.end()).isBetween(range.start(), size - 1);
        assertThat(range.length()).isBetween(1L, size);
    }

    /**
     * Any Content-Range, upload offset and Content-Length (the input's last 16 bytes): refused, or a range that starts
     * at the offset and spans the Content-Length.
     */
    @FuzzTest
    void anyContentRangeContinuesTheUploadOrIsRefused(FuzzedDataProvider data) {
        long offset = data.consumeLong(0, Long.MAX_VALUE);
        long declared = data.consumeLong(-1, Long.MAX_VALUE);
        String header = data.consumeRemainingAsString();
        if (!UploadEndpoints.continues(header, offset, declared)) {
            return;
        }
        String[] bounds = header.strip().replaceFirst("^bytes[ =]", "").replaceFirst("/.*$", "").split("-");
        long start = Long.parseLong(bounds[0]);
        long end = Long.parseLong(bounds[1]);
        assertThat(start).isEqualTo(offset);
        assertThat(end).isGreaterThanOrEqualTo(start);
        if (declared >= 0) {
            assertThat(end - start + 1).isEqualTo(declared);
        }
    }
}
