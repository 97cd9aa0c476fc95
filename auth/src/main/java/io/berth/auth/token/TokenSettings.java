package io.berth.auth.token;

import com.nimbusds.jose.jwk.JWKSet;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * registry:2's {@code auth.token} section, read: what a {@link TokenValidator} checks tokens against. Read the files
 * with {@link TokenKeys#readCertificates} ({@code rootcertbundle}) and {@link TokenKeys#readJwks} ({@code jwks}).
 *
 * @param realm the token server's URL, for the {@code WWW-Authenticate} challenge (the validator does not use it)
 * @param service this registry's name: a token's {@code aud} must contain it
 * @param issuer the token server's name: a token's {@code iss} must equal it
 * @param rootCertificates the {@code rootcertbundle}: an {@code x5c} chain must lead to one of them, and their keys
 *     may also be named by {@code kid}
 * @param jwks the {@code jwks} keys, named by their {@code kid}; null when not configured
 * @param signingAlgorithms the {@code signingalgorithms} allowed; empty allows every asymmetric algorithm
 *     distribution knows (RS256/384/512, PS256/384/512, ES256/384/512, EdDSA). {@code none} and HS256/384/512 are
 *     refused outright.
 * @throws IllegalArgumentException when service or issuer is blank, no key is configured at all, a JWKS key is not
 *     an RSA, EC or Ed25519 public key, or an algorithm is unknown or refused
 */
public record TokenSettings(
        String realm,
        String service,
        String issuer,
        List<X509Certificate> rootCertificates,
        @Nullable JWKSet jwks,
        Set<String> signingAlgorithms) {

    public TokenSettings {
        requireNonBlank("service", service);
        requireNonBlank("issuer", issuer);
        rootCertificates = List.copyOf(rootCertificates);
        signingAlgorithms = Set.copyOf(signingAlgorithms);
        Jws.algorithms(signingAlgorithms);
        if (new TrustedKeys(rootCertificates, jwks).isEmpty()) {
            throw new IllegalArgumentException(
                    "token auth requires at least one token signing key: a rootcertbundle certificate or a jwks key");
        }
    }

    /** Settings with every asymmetric algorithm allowed, as registry:2 does when {@code signingalgorithms} is unset. */
    public static TokenSettings of(String realm, String service, String issuer, List<X509Certificate> rootCertificates,
            @Nullable JWKSet jwks) {
        return new TokenSettings(realm, service, issuer, rootCertificates, jwks, Set.of());
    }

    private static void requireNonBlank(String name, String value) {
        if (value.isBlank()) {
            throw new IllegalArgumentException("token auth requires a non-empty " + name);
        }
    }
}
