package io.berth.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RequestIdsTest {
    @Test
    void aSaneClientIdIsKept() {
        assertThat(RequestIds.of("my-id-123")).isEqualTo("my-id-123");
        assertThat(RequestIds.of("Root=1-67891233-abcdef012345678912345678")).isEqualTo("Root=1-67891233-abcdef012345678912345678");
    }

    @Test
    void anInsaneOrMissingIdIsReplacedByAUuid() {
        String uuid = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";
        assertThat(RequestIds.of(null)).matches(uuid);
        assertThat(RequestIds.of("")).matches(uuid);
        assertThat(RequestIds.of("a b")).matches(uuid);
        assertThat(RequestIds.of("x\" msg=\"forged")).matches(uuid);
        assertThat(RequestIds.of("a\nb")).matches(uuid);
        assertThat(RequestIds.of("a".repeat(RequestIds.MAX_LENGTH + 1))).matches(uuid);
        assertThat(RequestIds.of("a".repeat(RequestIds.MAX_LENGTH))).isEqualTo("a".repeat(RequestIds.MAX_LENGTH));
        assertThat(RequestIds.of(null)).isNotEqualTo(RequestIds.of(null));
    }
}
