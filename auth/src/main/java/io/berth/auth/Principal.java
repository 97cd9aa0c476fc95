package io.berth.auth;

/**
 * Who is asking: an htpasswd account, a token subject, or nobody.
 *
 * @param name the account or subject; {@code anonymous} for a request without credentials
 * @param anonymous whether the request carried no credentials
 */
public record Principal(String name, boolean anonymous) {
    public static final Principal ANONYMOUS = new Principal("anonymous", true);

    public static Principal of(String name) {
        return new Principal(name, false);
    }
}
