package io.berth.auth;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/** A clock and a ticker that move only when told to, so that no test sleeps; shared by the token tests. */
public final class FakeTime extends Clock implements Ticker {
    private final AtomicLong nanos = new AtomicLong();

    public FakeTime() {
        this(Instant.parse("2026-01-01T00:00:00Z"));
    }

    public FakeTime(Instant start) {
        set(start);
    }

    public void advance(Duration by) {
        nanos.addAndGet(by.toNanos());
    }

    public void set(Instant instant) {
        nanos.set(instant.getEpochSecond() * 1_000_000_000L + instant.getNano());
    }

    @Override
    public long read() {
        return nanos.get();
    }

    @Override
    public Instant instant() {
        long n = nanos.get();
        return Instant.ofEpochSecond(Math.floorDiv(n, 1_000_000_000L), Math.floorMod(n, 1_000_000_000L));
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException();
    }
}
