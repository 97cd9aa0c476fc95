package io.berth.server.http;

import io.berth.auth.AccessRules;
import io.berth.auth.BasicAuthenticator;
import io.berth.auth.Principal;
import io.berth.auth.Scope;
import io.berth.auth.token.IssuedToken;
import io.berth.auth.token.TokenIssuer;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Berth's built-in token server ({@code berth.tokenIssuer}), at the path of {@code auth.token.realm}.
 * It speaks the Docker token protocol: GET with Basic credentials (or none, for anonymous), a
 * {@code service} and any number of {@code scope}s; the token grants what the access rules allow of
 * what was asked, and nothing more.
 */
final class TokenEndpoint {
    private final String path;
    private final String service;
    private final BasicAuthenticator accounts;
    private final AccessRules rules;
    private final TokenIssuer issuer;

    TokenEndpoint(String path, String service, BasicAuthenticator accounts, AccessRules rules, TokenIssuer issuer) {
        this.path = path;
        this.service = service;
        this.accounts = accounts;
        this.rules = rules;
        this.issuer = issuer;
    }

    String path() {
        return path;
    }

    Reply get(Exchange ex) {
        if (!ex.method().equals(HttpMethod.GET)) {
            // containerd and docker fall back to GET when the OAuth2 POST form is refused.
            throw new HttpError(ErrorCode.UNSUPPORTED, "the token endpoint takes GET");
        }
        String asked = ex.param("service");
        if (asked != null && !asked.equals(service)) {
            throw new HttpError(ErrorCode.DENIED, HttpResponseStatus.BAD_REQUEST, "unknown service \"" + asked + "\"; this issuer serves \"" + service + "\"");
        }
        String address = ex.ctx().channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress().getHostAddress() : "unknown";
        Principal principal = switch (accounts.authenticate(ex.header(HttpHeaderNames.AUTHORIZATION), address)) {
            case BasicAuthenticator.Result.Authenticated a -> a.principal();
            case BasicAuthenticator.Result.Anonymous a -> Principal.ANONYMOUS;
            case BasicAuthenticator.Result.Invalid i -> throw new HttpError(ErrorCode.UNAUTHORIZED, i.reason());
            case BasicAuthenticator.Result.Limited l -> throw new HttpError(ErrorCode.TOOMANYREQUESTS,
                    "too many failed logins from this client; retry in " + l.retryAfter().toSeconds() + "s");
        };
        List<Scope> granted = new ArrayList<>();
        for (Scope requested : Scope.parseAll(ex.params("scope"))) {
            Scope g = rules.grant(principal, requested);
            if (!g.actions().isEmpty()) {
                granted.add(g);
            }
        }
        IssuedToken token = issuer.issue(principal.anonymous() ? "" : principal.name(), service, granted);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("token", token.token());
        body.put("access_token", token.token());
        body.put("expires_in", token.expiresIn().toSeconds());
        body.put("issued_at", token.issuedAt().toString());
        FullHttpResponse r = Responses.json(HttpResponseStatus.OK, body);
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        return Reply.of(r);
    }
}
