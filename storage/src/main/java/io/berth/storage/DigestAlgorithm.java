package io.berth.storage;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** The digest algorithms Berth accepts, with the hex length each must have. */
public enum DigestAlgorithm {
    SHA256("sha256", "SHA-256", 64),
    SHA512("sha512", "SHA-512", 128);

    private final String prefix;
    private final String jcaName;
    private final int hexLength;

    DigestAlgorithm(String prefix, String jcaName, int hexLength) {
        this.prefix = prefix;
        this.jcaName = jcaName;
        this.hexLength = hexLength;
    }

    /** The name used in digests and in registry:2's paths, e.g. {@code sha256}. */
    public String prefix() {
        return prefix;
    }

    int hexLength() {
        return hexLength;
    }

    public MessageDigest newMessageDigest() {
        try {
            return MessageDigest.getInstance(jcaName);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(jcaName + " is missing from this JDK", e);
        }
    }

    static DigestAlgorithm fromPrefix(String prefix) {
        for (DigestAlgorithm a : values()) {
            if (a.prefix.equals(prefix)) {
                return a;
            }
        }
        throw new StorageException(Problem.DIGEST_INVALID, "unsupported digest algorithm: " + prefix);
    }
}
