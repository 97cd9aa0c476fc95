package io.berth.storage;

import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A strictly validated content digest such as {@code sha256:<64 lowercase hex>}.
 *
 * @param algorithm the algorithm
 * @param hex the lowercase hex encoding, of exactly the algorithm's length
 */
public record Digest(DigestAlgorithm algorithm, String hex) {
    private static final Pattern GRAMMAR = Pattern.compile("[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+");

    public Digest {
        if (hex.length() != algorithm.hexLength() || !isLowerHex(hex, 0)) {
            throw new StorageException(Problem.DIGEST_INVALID, "invalid " + algorithm.prefix() + " digest: " + hex);
        }
    }

    /** Parses {@code alg:hex}, refusing unknown algorithms and malformed hex with DIGEST_INVALID. */
    public static Digest parse(String text) {
        // The common case, sha256:<64 lowercase hex> as every link file holds, without the regular expression.
        if (text.length() == 7 + 64 && text.startsWith("sha256:") && isLowerHex(text, 7)) {
            return new Digest(DigestAlgorithm.SHA256, text.substring(7));
        }
        if (text.length() > 200 || !GRAMMAR.matcher(text).matches()) {
            throw new StorageException(Problem.DIGEST_INVALID, "invalid digest: " + abbreviate(text));
        }
        int colon = text.indexOf(':');
        return new Digest(DigestAlgorithm.fromPrefix(text.substring(0, colon)), text.substring(colon + 1));
    }

    /** Whether {@code s} from {@code from} on is lowercase hexadecimal ({@code [a-f0-9]+}). */
    private static boolean isLowerHex(String s, int from) {
        if (from >= s.length()) {
            return false;
        }
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code text} has the general shape of a digest (as opposed to a tag). */
    public static boolean looksLikeDigest(String text) {
        return text.indexOf(':') > 0;
    }

    static Digest of(DigestAlgorithm algorithm, byte[] hash) {
        return new Digest(algorithm, HexFormat.of().formatHex(hash));
    }

    public static Digest sha256(byte[] content) {
        return of(DigestAlgorithm.SHA256, DigestAlgorithm.SHA256.newMessageDigest().digest(content));
    }

    /** Whether {@code content} hashes to this digest, with this digest's algorithm. */
    public boolean matches(byte[] content) {
        return of(algorithm, algorithm.newMessageDigest().digest(content)).equals(this);
    }

    static String abbreviate(String text) {
        return text.length() <= 80 ? text : text.substring(0, 80) + "…";
    }

    @Override
    public String toString() {
        return algorithm.prefix() + ':' + hex;
    }
}
