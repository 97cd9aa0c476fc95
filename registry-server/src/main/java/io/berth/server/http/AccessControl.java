package io.berth.server.http;

import io.berth.auth.AccessRule;
import io.berth.auth.AccessRules;
import io.berth.auth.Action;
import io.berth.auth.BasicAuthenticator;
import io.berth.auth.Principal;
import io.berth.auth.Scope;
import io.berth.auth.token.InvalidTokenException;
import io.berth.auth.token.TokenValidator;
import io.berth.auth.token.ValidatedToken;
import io.berth.storage.RepositoryName;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Decides, before a request touches storage, who is asking and whether they may: registry:2's
 * {@code auth.htpasswd} (Basic) or {@code auth.token} (Bearer JWT), then Berth's access rules.
 * Challenges and error bodies are registry:2's, so docker, podman, containerd and crane log in as usual.
 */
final class AccessControl {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(AccessControl.class);
    private final @Nullable BasicAuthenticator basic;
    private final @Nullable String basicRealm;
    private final @Nullable TokenValidator tokens;
    private final AccessRules rules;
    private final boolean rulesConfigured;
    private final boolean anonymousHasRules;

    private AccessControl(@Nullable BasicAuthenticator basic, @Nullable String basicRealm, @Nullable TokenValidator tokens, List<AccessRule> rules) {
        this.basic = basic;
        this.basicRealm = basicRealm;
        this.tokens = tokens;
        this.rules = rules.isEmpty() ? AccessRules.none() : AccessRules.of(rules);
        this.rulesConfigured = !rules.isEmpty();
        this.anonymousHasRules = rules.stream().anyMatch(r -> r.account().equals(AccessRule.ANONYMOUS));
    }

    /** No authentication: everyone is anonymous, limited only by the rules, if any. */
    static AccessControl open(List<AccessRule> rules) {
        return new AccessControl(null, null, null, rules);
    }

    /** {@code auth.htpasswd}. */
    static AccessControl basic(BasicAuthenticator basic, String realm, List<AccessRule> rules) {
        return new AccessControl(basic, realm, null, rules);
    }

    /** {@code auth.token}: the token's access claims decide; the rules shape the catalog. */
    static AccessControl token(TokenValidator tokens, List<AccessRule> rules) {
        return new AccessControl(null, null, tokens, rules);
    }

    /** Whether anything is ever refused; an open registry skips the checks entirely. */
    boolean isOpen() {
        return basic == null && tokens == null && !rulesConfigured;
    }

    /** The outcome of the check: the caller, or the response that refuses them. */
    sealed interface Outcome {
        /** Go ahead as {@code principal}. */
        record Allowed(Principal principal) implements Outcome {}

        /**
         * Send {@code response}. {@code failedScheme} is {@code basic} or {@code bearer} when the request carried
         * credentials of that scheme that did not authenticate, and null for a plain challenge or a denial.
         */
        record Refused(FullHttpResponse response, @Nullable String failedScheme) implements Outcome {
            Refused(FullHttpResponse response) {
                this(response, null);
            }
        }
    }

    Outcome check(Exchange ex) {
        if (access(ex) == Endpoints.Access.PUBLIC || isOpen()) {
            return new Outcome.Allowed(Principal.ANONYMOUS);
        }
        List<Scope> required = required(ex);
        if (tokens != null) {
            return checkToken(tokens, ex, required);
        }
        Principal principal = Principal.ANONYMOUS;
        if (basic != null) {
            switch (basic.authenticate(ex.header(HttpHeaderNames.AUTHORIZATION), clientAddress(ex))) {
                case BasicAuthenticator.Result.Authenticated a -> principal = a.principal();
                case BasicAuthenticator.Result.Anonymous a -> principal = Principal.ANONYMOUS;
                case BasicAuthenticator.Result.Invalid i -> {
                    return new Outcome.Refused(basicChallenge(i.reason()), "basic");
                }
                case BasicAuthenticator.Result.Limited l -> {
                    FullHttpResponse r = Responses.error(new HttpError(ErrorCode.TOOMANYREQUESTS,
                            "too many login attempts; retry in " + l.retryAfter().toSeconds() + "s"));
                    r.headers().set(HttpHeaderNames.RETRY_AFTER, Math.max(1, l.retryAfter().toSeconds()));
                    return new Outcome.Refused(r);
                }
            }
        }
        boolean mayLogIn = principal.anonymous() && basic != null;
        if (required.isEmpty()) {
            // The /v2/ ping: registry:2 demands credentials, unless the rules let anonymous do something.
            return mayLogIn && !anonymousHasRules ? refuseBasic("authentication required") : new Outcome.Allowed(principal);
        }
        for (Scope scope : required) {
            if (!rules.allows(principal, scope)) {
                return mayLogIn ? refuseBasic("authentication required")
                        : new Outcome.Refused(Responses.error(new HttpError(ErrorCode.DENIED,
                                principal.name() + " may not " + actions(scope) + " " + scope.name())));
            }
        }
        return new Outcome.Allowed(principal);
    }

    private Outcome checkToken(TokenValidator tokens, Exchange ex, List<Scope> required) {
        String header = ex.header(HttpHeaderNames.AUTHORIZATION);
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return refuseToken(tokens, required, null, "authentication required");
        }
        ValidatedToken token;
        try {
            token = tokens.validate(header.substring(7).strip());
        } catch (InvalidTokenException e) {
            // The reason names issuers and certificates: for the log, not for the client.
            log.info("refused a token from {}: {} ({})", clientAddress(ex), e.getMessage(), e.reason());
            return new Outcome.Refused(tokenChallenge(tokens, required, "invalid_token", "authentication required"), "bearer");
        }
        for (Scope scope : required) {
            if (!token.grants(scope)) {
                return refuseToken(tokens, required, "insufficient_scope", "insufficient scope: " + scope);
            }
        }
        return new Outcome.Allowed(token.principal());
    }

    private Outcome refuseBasic(String detail) {
        return new Outcome.Refused(basicChallenge(detail));
    }

    private FullHttpResponse basicChallenge(String detail) {
        FullHttpResponse r = Responses.error(new HttpError(ErrorCode.UNAUTHORIZED, detail));
        r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Basic realm=\"" + basicRealm + "\"");
        return r;
    }

    /** registry:2's Bearer challenge: realm, service, the scopes asked for, and the error if there was a token. */
    private static Outcome refuseToken(TokenValidator tokens, List<Scope> required, @Nullable String error, String detail) {
        return new Outcome.Refused(tokenChallenge(tokens, required, error, detail));
    }

    private static FullHttpResponse tokenChallenge(TokenValidator tokens, List<Scope> required, @Nullable String error, String detail) {
        var settings = tokens.settings();
        StringBuilder challenge = new StringBuilder("Bearer realm=\"").append(settings.realm())
                .append("\",service=\"").append(settings.service()).append('"');
        if (!required.isEmpty()) {
            challenge.append(",scope=\"").append(required.stream().map(Scope::toString).collect(Collectors.joining(" "))).append('"');
        }
        if (error != null) {
            challenge.append(",error=\"").append(error).append('"');
        }
        FullHttpResponse r = Responses.error(new HttpError(ErrorCode.UNAUTHORIZED, detail));
        r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, challenge.toString());
        return r;
    }

    /**
     * The access the route table asks of a request; a path that is no endpoint is public (it is answered 404), and
     * a method a route does not serve needs credentials before it is answered 405.
     */
    static Endpoints.Access access(Exchange ex) {
        Endpoints.Entry entry = Endpoints.find(ex.route().kind(), ex.method());
        return entry != null ? entry.access() : ex.route().kind() == Route.Kind.NONE ? Endpoints.Access.PUBLIC : Endpoints.Access.AUTHENTICATED;
    }

    /** What a request needs, in registry:2's terms: pull to read, pull and push to write, delete to delete. */
    static List<Scope> required(Exchange ex) {
        Route route = ex.route();
        List<Scope> out = new ArrayList<>();
        switch (access(ex)) {
            case CATALOG -> out.add(Scope.catalog());
            case PULL -> out.add(Scope.repository(route.repository().value(), Action.PULL));
            case DELETE -> out.add(Scope.repository(route.repository().value(), Action.DELETE));
            case PUSH -> {
                out.add(Scope.repository(route.repository().value(), Action.PULL, Action.PUSH));
                String from = ex.param("from");
                if (route.kind() == Route.Kind.UPLOADS && ex.param("mount") != null && from != null && !from.isEmpty()) {
                    out.add(Scope.repository(RepositoryName.of(from).value(), Action.PULL));
                }
            }
            case PUBLIC, AUTHENTICATED -> {
                // authentication alone, or nothing
            }
        }
        return out;
    }

    /** Whether {@code principal} may see {@code repository} in the catalog. */
    boolean mayList(Principal principal, RepositoryName repository) {
        return !rulesConfigured || rules.mayList(principal, repository.value());
    }

    /** Automatic mounts (no {@code from}) would let anyone who knows a digest read it: only for open registries. */
    boolean allowsAutomaticMount() {
        return isOpen();
    }

    private static String actions(Scope scope) {
        return scope.actions().stream().map(a -> a == Action.CATALOG ? "list" : a.wire()).collect(Collectors.joining(" and "));
    }

    private static String clientAddress(Exchange ex) {
        return ex.client();
    }
}
