package io.berth.server.config;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IPv4 or IPv6 network in CIDR notation ({@code 10.0.0.0/8}, {@code fd00::/8}), or one address. An IPv4-mapped
 * IPv6 address ({@code ::ffff:10.1.2.3}) matches the IPv4 networks, as the JDK reports such peers as IPv4.
 *
 * @param network the network's address bytes, host bits cleared
 * @param prefix the number of leading bits that must match
 */
public record Cidr(byte[] network, int prefix) {

    /**
     * Parses {@code text}. Only address literals are accepted, never host names, so nothing is looked up in DNS.
     *
     * @throws IllegalArgumentException when it is not an address or a network
     */
    public static Cidr parse(String text) {
        String s = text.strip();
        int slash = s.indexOf('/');
        String address = slash < 0 ? s : s.substring(0, slash);
        byte[] bytes = literal(address);
        if (bytes == null) {
            throw new IllegalArgumentException("not an IP address or CIDR network: \"" + abbreviate(text) + "\"");
        }
        int bits = bytes.length * 8;
        int prefix = bits;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad prefix length in \"" + abbreviate(text) + "\"");
            }
            if (prefix < 0 || prefix > bits) {
                throw new IllegalArgumentException("prefix length out of range in \"" + abbreviate(text) + "\"");
            }
        }
        return new Cidr(mask(bytes, prefix), prefix);
    }

    /** Whether {@code address} lies in this network. */
    public boolean contains(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (bytes.length != network.length) {
            return false;
        }
        byte[] masked = mask(bytes, prefix);
        return java.util.Arrays.equals(masked, network);
    }

    /**
     * The bytes of an IP literal, or null when {@code text} is none. IPv4-mapped IPv6 literals come back as IPv4.
     */
    public static byte @org.jspecify.annotations.Nullable [] literal(String text) {
        String a = text.strip();
        if (a.startsWith("[") && a.endsWith("]")) {
            a = a.substring(1, a.length() - 1);
        }
        if (a.isEmpty() || a.length() > 45 || !isLiteralText(a)) {
            return null;
        }
        try {
            // A string of only hex digits, dots and colons is parsed as a literal, never resolved.
            InetAddress parsed = InetAddress.getByName(a);
            if (a.indexOf(':') < 0 && !(parsed instanceof Inet4Address)) {
                return null;
            }
            return parsed.getAddress();
        } catch (UnknownHostException | IllegalArgumentException e) {
            return null;
        }
    }

    private static boolean isLiteralText(String a) {
        boolean colon = a.indexOf(':') >= 0;
        int dots = 0;
        for (int i = 0; i < a.length(); i++) {
            char c = a.charAt(i);
            boolean ok = (c >= '0' && c <= '9') || c == '.' || c == ':' || (colon && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
            if (!ok) {
                return false;
            }
            if (c == '.') {
                dots++;
            }
        }
        // Without colons, only the four-part dotted form: the JDK would also take "10" or "10.1" as IPv4.
        return colon || dots == 3;
    }

    private static byte[] mask(byte[] bytes, int prefix) {
        byte[] out = bytes.clone();
        for (int i = 0; i < out.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - i * 8));
            out[i] = (byte) (out[i] & (0xff << (8 - keep)));
        }
        return out;
    }

    private static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "…";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cidr c && c.prefix == prefix && java.util.Arrays.equals(c.network, network);
    }

    @Override
    public int hashCode() {
        return 31 * java.util.Arrays.hashCode(network) + prefix;
    }

    @Override
    public String toString() {
        try {
            return InetAddress.getByAddress(network).getHostAddress() + "/" + prefix;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
