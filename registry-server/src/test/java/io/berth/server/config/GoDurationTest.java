package io.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GoDurationTest {

    @Test
    void parsesHours() {
        assertThat(GoDuration.parse("168h")).isEqualTo(Duration.ofDays(7));
    }

    @Test
    void parsesCompoundDurations() {
        assertThat(GoDuration.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(GoDuration.parse("2h45m30s")).isEqualTo(Duration.ofSeconds(2 * 3600 + 45 * 60 + 30));
        assertThat(GoDuration.parse("1m30s")).isEqualTo(Duration.ofSeconds(90));
    }

    @Test
    void parsesEveryUnit() {
        assertThat(GoDuration.parse("300ms")).isEqualTo(Duration.ofMillis(300));
        assertThat(GoDuration.parse("10s")).isEqualTo(Duration.ofSeconds(10));
        assertThat(GoDuration.parse("5m")).isEqualTo(Duration.ofMinutes(5));
        assertThat(GoDuration.parse("7ns")).isEqualTo(Duration.ofNanos(7));
        assertThat(GoDuration.parse("7us")).isEqualTo(Duration.ofNanos(7_000));
        assertThat(GoDuration.parse("7µs")).isEqualTo(Duration.ofNanos(7_000));
    }

    @Test
    void parsesFractions() {
        assertThat(GoDuration.parse("1.5h")).isEqualTo(Duration.ofMinutes(90));
        assertThat(GoDuration.parse("0.5s")).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void bareZeroIsZero() {
        assertThat(GoDuration.parse("0")).isEqualTo(Duration.ZERO);
        assertThat(GoDuration.parse("0s")).isEqualTo(Duration.ZERO);
    }

    @Test
    void surroundingWhitespaceIsTolerated() {
        assertThat(GoDuration.parse(" 10s ")).isEqualTo(Duration.ofSeconds(10));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "10", "h", "forever", "5d", "1w", "1h 30m", "1h30", "10S", "1H", "ten seconds", "10s!",
            "x10s", "1..5s", "+", "1e3s"})
    void refusesInvalidDurationsNamingTheText(String text) {
        assertThatThrownBy(() -> GoDuration.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("\"" + text + "\"");
    }
}
