package io.berth.auth.token;

import com.nimbusds.jose.Algorithm;
import com.nimbusds.jose.Header;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.berth.auth.Scope;
import io.berth.auth.token.InvalidTokenException.Reason;
import java.security.PublicKey;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Validates registry:2 bearer tokens the way distribution's token access controller does
 * ({@code registry/auth/token}), so that a token server that works with registry:2 (2.x or 3.x) works with Berth, and
 * so does Berth's own {@link TokenIssuer}.
 *
 * <p>A token is a compact JWS. Its signing key is found from its header, in this order, and must be trusted:
 * <ol>
 *   <li>{@code x5c}: the chain must lead to one of the root certificates (PKIX at the clock's current time, no
 *       revocation checks); the leaf's key signs.
 *   <li>{@code jwk}: the embedded key must be a root certificate's key or a JWKS key, or carry its own {@code x5c}
 *       that leads to a root certificate.
 *   <li>{@code kid}: a JWKS key's {@code kid}, or a root certificate key's libtrust key ID
 *       ({@link TokenKeys#libtrustKeyId}) or JWK thumbprint.
 * </ol>
 * {@code jku} and {@code x5u} are never fetched: a token whose key is named only by them is refused. So are unsigned
 * ({@code alg: none}) and HMAC-signed tokens, algorithms outside {@link TokenSettings#signingAlgorithms}, and an
 * algorithm that does not fit the key (RS256 with an EC key, ES384 with a P-256 key).
 *
 * <p>Once the signature verifies, the claims are checked: {@code iss} equals the issuer, {@code aud} (a string or an
 * array) contains the service, {@code exp} is present and not past by more than {@link #LEEWAY}, and {@code nbf} and
 * {@code iat}, when present, are not ahead by more than the leeway. {@code sub} may be empty (anonymous).
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class TokenValidator {
    /** The clock skew allowed on {@code exp}, {@code nbf} and {@code iat}: distribution's 60 seconds. */
    public static final Duration LEEWAY = Duration.ofSeconds(60);
    /** The longest token read, in characters; a longer one is refused before it is decoded. */
    public static final int MAX_TOKEN_LENGTH = 64 * 1024;

    private static final Logger LOG = LoggerFactory.getLogger(TokenValidator.class);

    private final TokenSettings settings;
    private final Set<JWSAlgorithm> algorithms;
    private final TrustedKeys keys;
    private final Clock clock;

    private TokenValidator(TokenSettings settings, Clock clock) {
        this.settings = settings;
        this.algorithms = Jws.algorithms(settings.signingAlgorithms());
        this.keys = new TrustedKeys(settings.rootCertificates(), settings.jwks());
        this.clock = clock;
    }

    /** A validator for these settings, reading the time from {@code clock}. */
    public static TokenValidator create(TokenSettings settings, Clock clock) {
        return new TokenValidator(settings, clock);
    }

    /** The settings this validator checks against; the HTTP layer takes the challenge's realm and service from them. */
    public TokenSettings settings() {
        return settings;
    }

    /**
     * Validates a compact JWS (the part of {@code Authorization: Bearer …} after the scheme).
     *
     * @throws InvalidTokenException when the token is refused, for any reason; the HTTP layer answers every one with
     *     {@code error="invalid_token"}
     */
    public ValidatedToken validate(String compactJwt) throws InvalidTokenException {
        try {
            return check(compactJwt, clock.instant());
        } catch (InvalidTokenException e) {
            LOG.debug("token refused: {}", e.getMessage());
            throw e;
        }
    }

    private ValidatedToken check(String compact, Instant now) throws InvalidTokenException {
        SignedJWT jwt = parse(compact);
        JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
        if (!algorithms.contains(alg)) {
            throw new InvalidTokenException(Reason.ALGORITHM_REFUSED,
                    "algorithm " + InvalidTokenException.printable(alg) + " is not allowed");
        }
        PublicKey key = signingKey(jwt.getHeader(), now);
        try {
            if (!jwt.verify(Jws.verifier(alg, key))) {
                throw new InvalidTokenException(Reason.BAD_SIGNATURE, "the signature does not verify");
            }
        } catch (JOSEException e) {
            throw new InvalidTokenException(Reason.BAD_SIGNATURE, "the signature does not verify: " + e.getMessage());
        }
        JWTClaimsSet claims;
        try {
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new InvalidTokenException(Reason.MALFORMED, "the claims do not parse: " + e.getMessage());
        }
        return checkClaims(claims, now);
    }

    private static SignedJWT parse(String compact) throws InvalidTokenException {
        if (compact.length() > MAX_TOKEN_LENGTH) {
            throw new InvalidTokenException(Reason.MALFORMED, "the token is longer than " + MAX_TOKEN_LENGTH
                    + " characters");
        }
        String[] parts = compact.split("\\.", -1);
        if (parts.length != 3) {
            throw new InvalidTokenException(Reason.MALFORMED, "not a compact JWS (" + parts.length + " parts)");
        }
        Base64URL encodedHeader = new Base64URL(parts[0]);
        try {
            Map<String, Object> header = JSONObjectUtils.parse(encodedHeader.decodeToString());
            Algorithm alg = Header.parseAlgorithm(header);
            if (!(alg instanceof JWSAlgorithm) || Algorithm.NONE.getName().equalsIgnoreCase(alg.getName())) {
                throw new InvalidTokenException(Reason.ALGORITHM_REFUSED,
                        "not a signed token (alg " + InvalidTokenException.printable(alg) + ")");
            }
            return new SignedJWT(encodedHeader, new Base64URL(parts[1]), new Base64URL(parts[2]));
        } catch (ParseException e) {
            throw new InvalidTokenException(Reason.MALFORMED, "the token does not parse: " + e.getMessage());
        }
    }

    private PublicKey signingKey(JWSHeader header, Instant now) throws InvalidTokenException {
        List<Base64> x5c = header.getX509CertChain();
        if (x5c != null && !x5c.isEmpty()) {
            return keys.chain(x5c, now);
        }
        JWK jwk = header.getJWK();
        if (jwk != null) {
            return keys.embedded(jwk, now);
        }
        String kid = header.getKeyID();
        if (kid != null && !kid.isEmpty()) {
            PublicKey key = keys.byKeyId(kid);
            if (key == null) {
                throw new InvalidTokenException(Reason.UNTRUSTED_KEY,
                        "kid " + InvalidTokenException.printable(kid) + " names no trusted key");
            }
            return key;
        }
        if (header.getJWKURL() != null || header.getX509CertURL() != null) {
            throw new InvalidTokenException(Reason.UNTRUSTED_KEY,
                    "the key is named only by jku or x5u, which are never fetched");
        }
        throw new InvalidTokenException(Reason.UNTRUSTED_KEY, "no x5c, jwk or kid header names the signing key");
    }

    private ValidatedToken checkClaims(JWTClaimsSet claims, Instant now) throws InvalidTokenException {
        if (!settings.issuer().equals(claims.getIssuer())) {
            throw new InvalidTokenException(Reason.WRONG_ISSUER,
                    "issuer " + InvalidTokenException.printable(claims.getIssuer()) + " is not trusted");
        }
        List<String> audience = claims.getAudience();
        if (!audience.contains(settings.service())) {
            throw new InvalidTokenException(Reason.WRONG_AUDIENCE,
                    "the token is for " + InvalidTokenException.printable(audience) + ", not " + settings.service());
        }
        Instant expires = instant(claims.getExpirationTime());
        if (expires == null) {
            throw new InvalidTokenException(Reason.MALFORMED, "the token has no exp claim");
        }
        if (now.isAfter(expires.plus(LEEWAY))) {
            throw new InvalidTokenException(Reason.EXPIRED, "the token expired at " + expires);
        }
        Instant notBefore = instant(claims.getNotBeforeTime());
        if (notBefore != null && now.isBefore(notBefore.minus(LEEWAY))) {
            throw new InvalidTokenException(Reason.NOT_YET_VALID, "the token is not valid before " + notBefore);
        }
        Instant issued = instant(claims.getIssueTime());
        if (issued != null && now.isBefore(issued.minus(LEEWAY))) {
            throw new InvalidTokenException(Reason.NOT_YET_VALID, "the token was issued in the future, at " + issued);
        }
        String subject;
        try {
            subject = claims.getStringClaim("sub");
        } catch (ParseException e) {
            throw new InvalidTokenException(Reason.MALFORMED, "the sub claim is not a string");
        }
        List<Scope> access = AccessClaim.parse(claims.getClaim(AccessClaim.NAME));
        return new ValidatedToken(subject == null ? "" : subject, access, expires);
    }

    private static @Nullable Instant instant(@Nullable Date date) {
        return date == null ? null : date.toInstant();
    }
}
