package io.berth.server.config;

import io.berth.auth.AccessRule;
import io.berth.auth.TagPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Who may do what: registry:2's {@code auth} section and Berth's own {@code berth} security settings.
 *
 * @param basic {@code auth.htpasswd}, or null
 * @param token {@code auth.token}, or null
 * @param issuer {@code berth.tokenIssuer}: Berth's built-in token server, or null
 * @param access {@code berth.access}, in order; empty means registry:2's rule (any authenticated account may do anything)
 * @param immutableTags {@code berth.immutableTags}
 * @param denyTags {@code berth.denyTags}: tag names (or globs) no push may use, e.g. {@code latest}
 */
public record SecurityConfig(
        @Nullable Basic basic,
        @Nullable Token token,
        @Nullable Issuer issuer,
        List<AccessRule> access,
        List<TagPolicy.ImmutableTags> immutableTags,
        List<String> denyTags) {

    /** No authentication, every request allowed: registry:2 without an {@code auth} section. */
    public static final SecurityConfig OPEN = new SecurityConfig(null, null, null, List.of(), List.of(), List.of());

    /**
     * @param realm the realm named in the Basic challenge
     * @param path the htpasswd file (bcrypt entries only)
     */
    public record Basic(String realm, Path path) {}

    /**
     * @param realm the token server's URL, named in the Bearer challenge
     * @param service the audience tokens must carry
     * @param issuer the issuer tokens must carry
     * @param rootCertBundle PEM certificates whose keys (or chains) sign tokens
     * @param jwks a JWKS file of further signing keys, or null
     * @param signingAlgorithms the accepted JWS algorithms; empty for the asymmetric defaults
     */
    public record Token(String realm, String service, String issuer, Path rootCertBundle, @Nullable Path jwks, List<String> signingAlgorithms) {}

    /**
     * @param htpasswd the accounts that may ask for tokens
     * @param key the PEM signing key; its certificate is {@code certificate}
     * @param certificate the PEM certificate chain of {@code key}; by default {@code auth.token.rootcertbundle}
     * @param expiration how long issued tokens live
     */
    public record Issuer(Path htpasswd, Path key, Path certificate, Duration expiration) {}
}
