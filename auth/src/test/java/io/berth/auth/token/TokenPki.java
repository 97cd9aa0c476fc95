package io.berth.auth.token;

import io.berth.testing.TestPki;
import io.berth.testing.TestPki.Ca;
import io.berth.testing.TestPki.Validity;
import java.security.KeyPair;
import java.time.Instant;

/** The fixed instant the token tests run at, and roots valid around it; the certificates come from {@link TestPki}. */
final class TokenPki {
    /** The instant tests run at; certificates are valid a day before it to thirty days after. */
    static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

    private TokenPki() {}

    /** A self-signed EC root valid around {@link #NOW}. */
    static Ca root(String name) {
        return root(name, TestPki.ec());
    }

    static Ca root(String name, KeyPair keys) {
        return Ca.root(name, keys, Validity.around(NOW));
    }
}
