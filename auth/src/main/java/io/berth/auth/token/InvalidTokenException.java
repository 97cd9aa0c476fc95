package io.berth.auth.token;

import org.jspecify.annotations.Nullable;

/**
 * A bearer token that {@link TokenValidator} refuses. Every reason maps to the same challenge on the wire,
 * {@code error="invalid_token"} (distribution does not tell a client why); the reason and message are for logs and
 * tests.
 */
public final class InvalidTokenException extends Exception {
    /** Why a token was refused. */
    public enum Reason {
        /** Not a compact JWS, oversized, or a claim of the wrong type or missing ({@code exp}). */
        MALFORMED,
        /** Unsigned ({@code alg: none}), HMAC-signed, an algorithm not allowed, or one that does not fit the key. */
        ALGORITHM_REFUSED,
        /** No header names a trusted key: an untrusted chain, jwk or kid, or only {@code jku}/{@code x5u}. */
        UNTRUSTED_KEY,
        /** The signature does not verify with the trusted key. */
        BAD_SIGNATURE,
        /** {@code iss} is not the configured issuer. */
        WRONG_ISSUER,
        /** {@code aud} does not name the configured service. */
        WRONG_AUDIENCE,
        /** {@code exp} has passed, beyond the leeway. */
        EXPIRED,
        /** {@code nbf} or {@code iat} is still ahead, beyond the leeway. */
        NOT_YET_VALID
    }

    private final Reason reason;

    InvalidTokenException(Reason reason, String message) {
        // No stack trace: refusing a token is an expected outcome, and forged tokens are cheap to send.
        super(reason + ": " + message, null, false, false);
        this.reason = reason;
    }

    /** Why the token was refused. */
    public Reason reason() {
        return reason;
    }

    /** Token-supplied text fit for a log line: quoted, control characters escaped, at most 100 characters. */
    static String printable(@Nullable Object value) {
        if (value == null) {
            return "(none)";
        }
        String text = String.valueOf(value);
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < text.length() && i < 100; i++) {
            char c = text.charAt(i);
            out.append(Character.isISOControl(c) ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return out.append(text.length() > 100 ? "…\"" : "\"").toString();
    }
}
