package io.berth.server.http;

import io.berth.auth.AccessRules;
import io.berth.auth.BasicAuthenticator;
import io.berth.auth.Htpasswd;
import io.berth.auth.TagPolicy;
import io.berth.auth.token.TokenIssuer;
import io.berth.auth.token.TokenKeys;
import io.berth.auth.token.TokenSettings;
import io.berth.auth.token.TokenValidator;
import io.berth.server.config.ConfigException;
import io.berth.server.config.SecurityConfig;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashSet;
import org.jspecify.annotations.Nullable;

/** Builds the security pieces from {@link SecurityConfig}, reading every file once at startup so mistakes stop startup. */
final class SecurityWiring {
    private SecurityWiring() {}

    static AccessControl accessControl(SecurityConfig cfg, Clock clock) {
        if (cfg.basic() != null) {
            return AccessControl.basic(authenticator(cfg.basic().path(), "auth.htpasswd.path", clock), cfg.basic().realm(), cfg.access());
        }
        if (cfg.token() != null) {
            return AccessControl.token(TokenValidator.create(tokenSettings(cfg.token()), clock), cfg.access());
        }
        return AccessControl.open(cfg.access());
    }

    static TagPolicy tagPolicy(SecurityConfig cfg) {
        try {
            return TagPolicy.of(cfg.immutableTags(), cfg.denyTags());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("berth.immutableTags / berth.denyTags: " + e.getMessage());
        }
    }

    static @Nullable TokenEndpoint tokenEndpoint(SecurityConfig cfg, Clock clock) {
        SecurityConfig.Issuer issuer = cfg.issuer();
        SecurityConfig.Token token = cfg.token();
        if (issuer == null || token == null) {
            return null;
        }
        TokenIssuer tokenIssuer;
        try {
            tokenIssuer = TokenIssuer.builder()
                    .issuer(token.issuer())
                    .signingKey(TokenKeys.readPrivateKey(issuer.key()), TokenKeys.readCertificates(issuer.certificate()))
                    .expiration(issuer.expiration())
                    .clock(clock)
                    .build();
        } catch (IOException | RuntimeException e) {
            throw new ConfigException("berth.tokenIssuer: cannot load key " + issuer.key() + " with certificate " + issuer.certificate() + ": " + e.getMessage());
        }
        String path = URI.create(token.realm()).getPath();
        if (path == null || path.isEmpty() || path.startsWith("/v2")) {
            throw new ConfigException("auth.token.realm: the built-in token issuer needs a path outside /v2/, e.g. https://registry.example/auth/token");
        }
        AccessRules rules = cfg.access().isEmpty() ? AccessRules.none() : AccessRules.of(cfg.access());
        return new TokenEndpoint(path, token.service(), authenticator(issuer.htpasswd(), "berth.tokenIssuer.htpasswd", clock), rules, tokenIssuer);
    }

    private static BasicAuthenticator authenticator(Path htpasswd, String key, Clock clock) {
        try {
            return BasicAuthenticator.builder(Htpasswd.load(htpasswd, clock)).build();
        } catch (IOException | RuntimeException e) {
            throw new ConfigException(key + ": cannot load " + htpasswd + ": " + e.getMessage());
        }
    }

    private static TokenSettings tokenSettings(SecurityConfig.Token token) {
        try {
            return new TokenSettings(token.realm(), token.service(), token.issuer(),
                    TokenKeys.readCertificates(token.rootCertBundle()),
                    token.jwks() == null ? null : TokenKeys.readJwks(token.jwks()),
                    new HashSet<>(token.signingAlgorithms()));
        } catch (IOException | RuntimeException e) {
            throw new ConfigException("auth.token: " + e.getMessage());
        }
    }

    /** The trust policy of {@code berth.trust}: with no rules, every manifest in the registry is trusted. */
    static io.berth.server.admission.LocalVerdicts.Trust trust(io.berth.server.config.RegistryConfig.Trust cfg) {
        return new io.berth.server.admission.StoredSignatures(trustPolicy(cfg));
    }

    /** {@code berth.trust}'s rules, with their key files read (and then watched). */
    static io.berth.auth.trust.TrustPolicy trustPolicy(io.berth.server.config.RegistryConfig.Trust cfg) {
        try {
            return io.berth.auth.trust.TrustPolicy.of(cfg.rules().stream()
                    .map(r -> new io.berth.auth.trust.TrustRule(r.repositories(), r.keys(), r.attestations())).toList());
        } catch (java.io.IOException e) {
            throw new io.berth.server.config.ConfigException("berth.trust: " + e.getMessage());
        }
    }
}
