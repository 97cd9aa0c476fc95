package io.berth.auth.token;

import java.time.Duration;
import java.time.Instant;

/**
 * A token from {@link TokenIssuer}, with what the token endpoint's JSON answer needs besides it
 * ({@code {"token": …, "access_token": …, "expires_in": …, "issued_at": …}}).
 *
 * @param token the compact JWS
 * @param issuedAt its {@code iat} (whole seconds)
 * @param expiresIn how long it is valid: its {@code exp} is {@code issuedAt + expiresIn}
 */
public record IssuedToken(String token, Instant issuedAt, Duration expiresIn) {}
