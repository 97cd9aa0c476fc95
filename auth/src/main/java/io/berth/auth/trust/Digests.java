package io.berth.auth.trust;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** Content digests as OCI writes them: {@code sha256:} and 64 lowercase hex digits, or {@code sha512:} and 128. */
final class Digests {
    private static final Pattern SHA256 = Pattern.compile("sha256:[0-9a-f]{64}");
    private static final Pattern SHA512 = Pattern.compile("sha512:[0-9a-f]{128}");

    private Digests() {}

    static boolean isValid(String digest) {
        return SHA256.matcher(digest).matches() || SHA512.matcher(digest).matches();
    }

    /** {@code sha256} of {@code sha256:...}; the digest must be valid. */
    static String algorithm(String digest) {
        return digest.substring(0, digest.indexOf(':'));
    }

    /** The hex part; the digest must be valid. */
    static String hex(String digest) {
        return digest.substring(digest.indexOf(':') + 1);
    }

    /** The JCA name of a valid digest's algorithm. */
    static String jcaName(String digest) {
        return algorithm(digest).equals("sha256") ? "SHA-256" : "SHA-512";
    }

    /** The raw bytes of a valid digest. */
    static byte[] bytes(String digest) {
        return HexFormat.of().parseHex(hex(digest));
    }

    /** Whether {@code content} hashes to {@code digest}; false for a digest that is not valid. */
    static boolean matches(String digest, byte[] content) {
        if (!isValid(digest)) {
            return false;
        }
        return MessageDigest.isEqual(bytes(digest), hash(jcaName(digest), content));
    }

    static byte[] hash(String jcaName, byte[] content) {
        try {
            return MessageDigest.getInstance(jcaName).digest(content);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no " + jcaName, e);
        }
    }

    /** A digest for a message: quoted if it is not a valid one, since it came from an artifact. */
    static String describe(@Nullable String digest) {
        if (digest == null) {
            return "no digest";
        }
        return isValid(digest) ? digest : Text.quote(digest);
    }
}
