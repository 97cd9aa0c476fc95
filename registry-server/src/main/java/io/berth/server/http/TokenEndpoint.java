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
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Berth's built-in token server ({@code berth.tokenIssuer}), at the path of {@code auth.token.realm}.
 * It speaks the Docker token protocol:
 * <ul>
 *   <li>GET with Basic credentials (or none, for anonymous), a {@code service} and any number of
 *       {@code scope}s;
 *   <li>the OAuth2 form that containerd and docker try first: POST of
 *       {@code grant_type=password&username=…&password=…&service=…&scope=…&client_id=…}. Berth issues
 *       no refresh tokens, so the {@code refresh_token} grant is refused as {@code unsupported_grant_type}.
 * </ul>
 * The token grants what the access rules allow of what was asked, and nothing more.
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

    /** The form of a POST is small; anything larger is not a token request. */
    static final int MAX_FORM_BYTES = 16 * 1024;

    Reply get(Exchange ex) {
        if (!ex.method().equals(HttpMethod.GET)) {
            throw new HttpError(ErrorCode.UNSUPPORTED, "the token endpoint takes GET, or POST with the OAuth2 form");
        }
        Map<String, Object> body = issue(ex, ex.param("service"), ex.header(HttpHeaderNames.AUTHORIZATION), ex.params("scope"));
        body.put("token", body.get("access_token"));
        return reply(HttpResponseStatus.OK, body);
    }

    /** The OAuth2 password grant: collects the form, then answers as {@link #get} does, with OAuth2's fields. */
    BodySink post(Exchange ex, BufferedBody.Budget budget) {
        BufferedBody form = new BufferedBody(budget, MAX_FORM_BYTES, io.netty.handler.codec.http.HttpUtil.getContentLength(ex.request(), -1L),
                max -> new HttpError(ErrorCode.SIZE_INVALID, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                        "a token request form has at most " + max + " bytes"));
        return new BodySink() {
            @Override
            public void content(ByteBuf content) {
                form.add(content);
            }

            @Override
            public Reply finish() {
                Map<String, List<String>> fields;
                try {
                    fields = QueryParameters.ofForm(new String(form.bytes(), StandardCharsets.UTF_8));
                } finally {
                    form.release();
                }
                String grant = first(fields, "grant_type");
                if (!"password".equals(grant)) {
                    // OAuth2's own error form (RFC 6749, 5.2), which clients of this flow read.
                    return reply(HttpResponseStatus.BAD_REQUEST, Map.of("error", grant == null ? "invalid_request" : "unsupported_grant_type",
                            "error_description", grant == null ? "grant_type is missing" : "Berth issues no refresh tokens; use grant_type=password"));
                }
                String user = first(fields, "username");
                String password = first(fields, "password");
                String authorization = user == null ? ex.header(HttpHeaderNames.AUTHORIZATION) : "Basic " + Base64.getEncoder().encodeToString(
                        (user + ":" + (password == null ? "" : password)).getBytes(StandardCharsets.UTF_8));
                Map<String, Object> body = issue(ex, first(fields, "service"), authorization, fields.getOrDefault("scope", List.of()));
                return reply(HttpResponseStatus.OK, body);
            }

            @Override
            public void abort() {
                form.release();
            }
        };
    }

    /** Authenticates, grants what the rules allow of {@code scopes}, and returns the token response's fields. */
    private Map<String, Object> issue(Exchange ex, @Nullable String asked, @Nullable String authorization, List<String> scopes) {
        if (asked != null && !asked.equals(service)) {
            throw new HttpError(ErrorCode.DENIED, HttpResponseStatus.BAD_REQUEST, "unknown service \"" + asked + "\"; this issuer serves \"" + service + "\"");
        }
        Principal principal = switch (accounts.authenticate(authorization, ex.client())) {
            case BasicAuthenticator.Result.Authenticated a -> a.principal();
            case BasicAuthenticator.Result.Anonymous a -> Principal.ANONYMOUS;
            case BasicAuthenticator.Result.Invalid i -> throw new HttpError(ErrorCode.UNAUTHORIZED, i.reason());
            case BasicAuthenticator.Result.Limited l -> throw new HttpError(ErrorCode.TOOMANYREQUESTS,
                    "too many login attempts; retry in " + l.retryAfter().toSeconds() + "s");
        };
        List<Scope> granted = new ArrayList<>();
        for (Scope requested : Scope.parseAll(scopes)) {
            Scope g = rules.grant(principal, requested);
            if (!g.actions().isEmpty()) {
                granted.add(g);
            }
        }
        IssuedToken token = issuer.issue(principal.anonymous() ? "" : principal.name(), service, granted);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("access_token", token.token());
        body.put("scope", granted.stream().map(Scope::toString).collect(Collectors.joining(" ")));
        body.put("expires_in", token.expiresIn().toSeconds());
        body.put("issued_at", token.issuedAt().toString());
        return body;
    }

    private static Reply reply(HttpResponseStatus status, Map<String, ?> body) {
        FullHttpResponse r = Responses.json(status, body);
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        return Reply.of(r);
    }

    private static @Nullable String first(Map<String, List<String>> fields, String name) {
        List<String> values = fields.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }
}
