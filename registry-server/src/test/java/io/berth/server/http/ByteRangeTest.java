package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link ByteRange#parse}: which part of a blob a GET with a Range header is answered with (used by BlobEndpoints). */
class ByteRangeTest {
    private static final long SIZE = 10;

    @Test
    void noHeaderMeansTheWholeBlobWithoutARange() {
        assertThat(ByteRange.parse(null, SIZE)).isNull();
    }

    @Test
    void openEndedFromZeroCoversTheWholeBlob() {
        ByteRange r = ByteRange.parse("bytes=0-", SIZE);

        assertThat(r).isEqualTo(new ByteRange(0, 9));
        assertThat(r.length()).isEqualTo(10);
    }

    @Test
    void openEndedFromAnOffset() {
        assertThat(ByteRange.parse("bytes=4-", SIZE)).isEqualTo(new ByteRange(4, 9));
    }

    @Test
    void closedRange() {
        ByteRange r = ByteRange.parse("bytes=5-9", SIZE);

        assertThat(r).isEqualTo(new ByteRange(5, 9));
        assertThat(r.length()).isEqualTo(5);
        assertThat(ByteRange.parse("bytes=0-0", SIZE)).isEqualTo(new ByteRange(0, 0));
        assertThat(ByteRange.parse("bytes=3-3", SIZE).length()).isEqualTo(1);
    }

    @Test
    void endPastTheBlobIsClampedToTheLastByte() {
        assertThat(ByteRange.parse("bytes=5-100", SIZE)).isEqualTo(new ByteRange(5, 9));
    }

    @Test
    void suffixRangeCountsFromTheEnd() {
        ByteRange r = ByteRange.parse("bytes=-3", SIZE);

        assertThat(r).isEqualTo(new ByteRange(7, 9));
        assertThat(r.length()).isEqualTo(3);
    }

    @Test
    void suffixLongerThanTheBlobIsTheWholeBlob() {
        assertThat(ByteRange.parse("bytes=-50", SIZE)).isEqualTo(new ByteRange(0, 9));
    }

    @Test
    void surroundingWhitespaceIsTolerated() {
        assertThat(ByteRange.parse("  bytes=5-9 ", SIZE)).isEqualTo(new ByteRange(5, 9));
    }

    @ParameterizedTest
    @ValueSource(strings = {"bytes=10-", "bytes=10-20", "bytes=100-", "bytes=-0", "bytes=9-5"})
    void unsatisfiableRanges(String header) {
        assertThat(ByteRange.parse(header, SIZE)).isSameAs(ByteRange.UNSATISFIABLE);
    }

    @Test
    void anyRangeOfAnEmptyBlobIsIgnored() {
        assertThat(ByteRange.parse("bytes=0-", 0)).isNull();
        assertThat(ByteRange.parse("bytes=-1", 0)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "bytes=", "bytes=-", "bytes=a-b", "bytes=1-2,4-5", "items=0-5", "bytes 0-5", "bytes=0x1-2",
            "bytes=-1-2", "0-5", "bytes=99999999999999999999-", "bytes=--1", "BYTES=0-1", "bytes=-99999999999999999999"})
    void malformedHeadersAreIgnored(String header) {
        assertThat(ByteRange.parse(header, SIZE)).isNull();
    }
}
