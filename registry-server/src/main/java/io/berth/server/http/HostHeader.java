package io.berth.server.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The Host header, checked as registry:2 (Go's net/http) checks it, since Berth builds {@code Location} headers from
 * it: an HTTP/1.1 request needs exactly one, and it must be {@code host[:port]} with a host that is a registered name,
 * an IPv4 address or a bracketed IPv6 literal (RFC 3986, 3.2.2). Anything else is a 400.
 */
final class HostHeader {
    private HostHeader() {}

    /** What is wrong with the request's Host header, or null when it is fine. */
    static @Nullable String problem(HttpRequest request) {
        List<String> hosts = request.headers().getAll(HttpHeaderNames.HOST);
        if (hosts.size() > 1) {
            return "too many Host headers";
        }
        if (hosts.isEmpty()) {
            return request.protocolVersion().equals(HttpVersion.HTTP_1_0) ? null : "missing required Host header";
        }
        return isValid(hosts.get(0)) ? null : "malformed Host header";
    }

    static boolean isValid(String host) {
        if (host.isEmpty() || host.length() > 255) {
            return false;
        }
        int portStart;
        if (host.charAt(0) == '[') {
            int close = host.indexOf(']');
            if (close < 0 || ClientAddresses.address(host.substring(0, close + 1)) == null || host.substring(1, close).indexOf(':') < 0) {
                return false;
            }
            portStart = close + 1;
        } else {
            int colon = host.indexOf(':');
            portStart = colon < 0 ? host.length() : colon;
            if (portStart == 0) {
                return false;
            }
            for (int i = 0; i < portStart; i++) {
                if (!isRegNameChar(host.charAt(i))) {
                    return false;
                }
            }
        }
        if (portStart == host.length()) {
            return true;
        }
        if (host.charAt(portStart) != ':') {
            return false;
        }
        String port = host.substring(portStart + 1);
        if (port.length() > 5) {
            return false;
        }
        for (int i = 0; i < port.length(); i++) {
            if (port.charAt(i) < '0' || port.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    /** RFC 3986 reg-name: unreserved, sub-delims and percent-encodings. */
    private static boolean isRegNameChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || "-._~%!$&'()*+,;=".indexOf(c) >= 0;
    }
}
