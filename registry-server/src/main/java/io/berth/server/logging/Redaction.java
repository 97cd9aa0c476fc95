package io.berth.server.logging;

import java.util.Locale;

/**
 * What a log line may show of a request target: the values of query parameters that carry credentials (a token, a
 * password, a secret, a signature) and any user information before the host are replaced by {@value #REDACTED}.
 * Berth never logs request headers, so {@code Authorization} never reaches a line.
 */
public final class Redaction {
    static final String REDACTED = "REDACTED";

    private Redaction() {}

    /** {@code uri} as it may be logged. */
    public static String uri(String uri) {
        String target = withoutUserInfo(uri);
        int q = target.indexOf('?');
        if (q < 0) {
            return target;
        }
        StringBuilder b = new StringBuilder(target.length()).append(target, 0, q + 1);
        int start = q + 1;
        while (start <= target.length()) {
            int amp = target.indexOf('&', start);
            int end = amp < 0 ? target.length() : amp;
            String pair = target.substring(start, end);
            int eq = pair.indexOf('=');
            if (eq >= 0 && secret(pair.substring(0, eq))) {
                b.append(pair, 0, eq + 1).append(REDACTED);
            } else {
                b.append(pair);
            }
            if (amp < 0) {
                break;
            }
            b.append('&');
            start = amp + 1;
        }
        return b.toString();
    }

    /** An absolute-form target ({@code http://user:pass@host/...}) loses its user information. */
    private static String withoutUserInfo(String uri) {
        int scheme = uri.indexOf("://");
        if (scheme < 0 || uri.indexOf('?') >= 0 && uri.indexOf('?') < scheme) {
            return uri;
        }
        int hostStart = scheme + 3;
        int slash = uri.indexOf('/', hostStart);
        int authorityEnd = slash < 0 ? uri.length() : slash;
        int at = uri.lastIndexOf('@', authorityEnd - 1);
        if (at < hostStart) {
            return uri;
        }
        return uri.substring(0, hostStart) + REDACTED + uri.substring(at);
    }

    static boolean secret(String parameter) {
        String p = parameter.toLowerCase(Locale.ROOT);
        return p.contains("token") || p.contains("password") || p.contains("passwd") || p.contains("secret")
                || p.contains("signature") || p.equals("sig") || p.contains("credential") || p.equals("code")
                || p.equals("key") || p.endsWith("_key") || p.equals("auth") || p.equals("authorization");
    }
}
