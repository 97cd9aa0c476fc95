package io.berth.auth.token;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.berth.auth.Scope;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Issues registry:2 bearer tokens, signed with a private key whose certificate chain leads to the validators'
 * {@code rootcertbundle}. Tokens carry the chain in {@code x5c} and the leaf key's libtrust ID in {@code kid}, so
 * registry:2 (2.x and 3.x), docker_auth-style validators and Berth's {@link TokenValidator} all accept them. (An
 * Ed25519 key is the exception: registry 2.x verifies with libtrust, which has no Ed25519, so its EdDSA tokens work
 * with registry 3.x and Berth only.)
 *
 * <p>The header is {@code {"alg": RS256 | ES256 | ES384 | ES512 | EdDSA (by key), "typ": "JWT", "kid": …, "x5c":
 * […]}}, and the claims are {@code iss}, {@code sub}, {@code aud} (a single string, which registry:2 2.x requires),
 * {@code exp}, {@code nbf} and {@code iat} (now), a random {@code jti}, and {@code access}.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class TokenIssuer {
    /** How long tokens are valid unless configured otherwise. */
    public static final Duration DEFAULT_EXPIRATION = Duration.ofMinutes(5);

    private final String issuer;
    private final JWSSigner signer;
    private final JWSAlgorithm algorithm;
    private final List<Base64> x5c;
    private final String keyId;
    private final Duration expiration;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    private TokenIssuer(String issuer, PrivateKey key, List<X509Certificate> chain, Duration expiration, Clock clock) {
        this.issuer = issuer;
        PublicKey leafKey = chain.get(0).getPublicKey();
        this.algorithm = Jws.algorithmFor(leafKey);
        this.signer = Jws.signer(key, leafKey);
        requireMatchingKey(signer, algorithm, leafKey);
        this.x5c = encode(chain);
        this.keyId = TokenKeys.libtrustKeyId(leafKey);
        this.expiration = expiration;
        this.clock = clock;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Issues a token.
     *
     * @param subject the account it is issued to; empty for an anonymous token
     * @param audience the registry's service name (its {@code auth.token.service})
     * @param granted the scopes granted, each with the actions granted on it (an empty set is written as {@code []})
     */
    public IssuedToken issue(String subject, String audience, List<Scope> granted) {
        if (audience.isBlank()) {
            throw new IllegalArgumentException("a token needs an audience");
        }
        Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
        JWSHeader header = new JWSHeader.Builder(algorithm)
                .type(JOSEObjectType.JWT)
                .keyID(keyId)
                .x509CertChain(x5c)
                .build();
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .issuer(issuer)
                .subject(subject)
                .audience(audience)
                .expirationTime(Date.from(now.plus(expiration)))
                .notBeforeTime(Date.from(now))
                .issueTime(Date.from(now))
                .jwtID(randomId())
                .claim(AccessClaim.NAME, AccessClaim.render(granted))
                .build();
        SignedJWT jwt = new SignedJWT(header, claims);
        try {
            jwt.sign(signer);
        } catch (JOSEException e) {
            throw new IllegalStateException("signing a token failed: " + e.getMessage(), e);
        }
        return new IssuedToken(jwt.serialize(), now, expiration);
    }

    /** The {@code kid} of issued tokens: the libtrust key ID of the signing certificate's key. */
    public String keyId() {
        return keyId;
    }

    /** The JWS algorithm of issued tokens, by the key: RS256, ES256, ES384, ES512 or EdDSA. */
    public String algorithm() {
        return algorithm.getName();
    }

    private String randomId() {
        byte[] bytes = new byte[16];
        random.nextBytes(bytes);
        return Base64URL.encode(bytes).toString();
    }

    private static void requireMatchingKey(JWSSigner signer, JWSAlgorithm alg, PublicKey leafKey) {
        try {
            JWSObject probe = new JWSObject(new JWSHeader(alg), new Payload("berth key check"));
            probe.sign(signer);
            if (!probe.verify(Jws.verifier(alg, leafKey))) {
                throw new IllegalArgumentException(
                        "the private key does not belong to the leaf certificate of the chain");
            }
        } catch (JOSEException | InvalidTokenException e) {
            throw new IllegalArgumentException("the private key does not belong to the leaf certificate of the chain: "
                    + e.getMessage(), e);
        }
    }

    private static List<Base64> encode(List<X509Certificate> chain) {
        List<Base64> out = new ArrayList<>(chain.size());
        for (X509Certificate certificate : chain) {
            try {
                out.add(Base64.encode(certificate.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IllegalArgumentException("certificate " + certificate.getSubjectX500Principal()
                        + " cannot be encoded", e);
            }
        }
        return List.copyOf(out);
    }

    /** Configures a {@link TokenIssuer}; {@link #build} fails fast with a message naming what is wrong. */
    public static final class Builder {
        private @Nullable String issuer;
        private @Nullable PrivateKey key;
        private List<X509Certificate> chain = List.of();
        private Duration expiration = DEFAULT_EXPIRATION;
        private Clock clock = Clock.systemUTC();

        private Builder() {}

        /** The {@code iss} of issued tokens: the validators' {@code auth.token.issuer}. Required. */
        public Builder issuer(String issuer) {
            this.issuer = issuer;
            return this;
        }

        /**
         * The signing key (RSA of at least 2048 bits, EC on P-256, P-384 or P-521, or Ed25519) and its certificate
         * chain, leaf first. Making the chain lead to the validators' {@code rootcertbundle} is the operator's job;
         * the builder checks that the key belongs to the leaf and that each certificate is signed by the next.
         * Required; read the files with {@link TokenKeys#readPrivateKey} and {@link TokenKeys#readCertificates}.
         */
        public Builder signingKey(PrivateKey key, List<X509Certificate> chain) {
            this.key = key;
            this.chain = List.copyOf(chain);
            return this;
        }

        /** How long issued tokens are valid, in whole seconds; {@link #DEFAULT_EXPIRATION} unless set. */
        public Builder expiration(Duration expiration) {
            this.expiration = expiration;
            return this;
        }

        /** Where the time of {@code iat}, {@code nbf} and {@code exp} comes from; the system clock unless set. */
        public Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        /** @throws IllegalArgumentException when a setting is missing or invalid */
        public TokenIssuer build() {
            if (issuer == null || issuer.isBlank()) {
                throw new IllegalArgumentException("the token issuer needs an issuer name");
            }
            if (key == null || chain.isEmpty()) {
                throw new IllegalArgumentException("the token issuer needs a signing key and its certificate chain");
            }
            Duration seconds = Duration.ofSeconds(expiration.toSeconds());
            if (seconds.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("token expiration must be at least one second, not " + expiration);
            }
            requireChainInOrder(chain, clock.instant());
            return new TokenIssuer(issuer, key, chain, seconds, clock);
        }

        private static void requireChainInOrder(List<X509Certificate> chain, Instant now) {
            X509Certificate leaf = chain.get(0);
            try {
                leaf.checkValidity(Date.from(now));
            } catch (CertificateExpiredException e) {
                throw new IllegalArgumentException("the signing certificate " + leaf.getSubjectX500Principal()
                        + " expired on " + leaf.getNotAfter().toInstant(), e);
            } catch (GeneralSecurityException e) {
                // Not yet valid: perhaps clock skew, and it will become valid; validators will say so meanwhile.
            }
            for (int i = 0; i + 1 < chain.size(); i++) {
                X509Certificate child = chain.get(i);
                X509Certificate parent = chain.get(i + 1);
                try {
                    child.verify(parent.getPublicKey());
                } catch (GeneralSecurityException e) {
                    throw new IllegalArgumentException("the certificate chain is not in order, leaf first: "
                            + child.getSubjectX500Principal() + " is not signed by "
                            + parent.getSubjectX500Principal(), e);
                }
            }
        }
    }
}
