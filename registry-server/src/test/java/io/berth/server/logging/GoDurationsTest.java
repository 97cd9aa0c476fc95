package io.berth.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Durations as Go prints them; the first cases are values registry:2 2.8.2 logged as http.response.duration. */
class GoDurationsTest {
    @Test
    void writesGoNotation() {
        assertThat(GoDurations.format(978_896)).isEqualTo("978.896µs");
        assertThat(GoDurations.format(9_060_455)).isEqualTo("9.060455ms");
        assertThat(GoDurations.format(1_550_400)).isEqualTo("1.5504ms");
        assertThat(GoDurations.format(0)).isEqualTo("0s");
        assertThat(GoDurations.format(999)).isEqualTo("999ns");
        assertThat(GoDurations.format(2_000)).isEqualTo("2µs");
        assertThat(GoDurations.format(1_500_000_000L)).isEqualTo("1.5s");
        assertThat(GoDurations.format(62_500_000_000L)).isEqualTo("1m2.5s");
        assertThat(GoDurations.format(3_600_000_000_000L)).isEqualTo("1h0m0s");
        assertThat(GoDurations.format(-1_500_000)).isEqualTo("-1.5ms");
    }
}
