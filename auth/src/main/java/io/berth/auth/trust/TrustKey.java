package io.berth.auth.trust;

import java.nio.file.Path;
import java.security.PublicKey;
import java.util.HexFormat;

/**
 * A public key of the trust policy, as read from one of its key files.
 *
 * <p>Two keys are equal when they are the same key (the same SubjectPublicKeyInfo), whichever file they were read
 * from.
 */
public final class TrustKey {
    private final Path file;
    private final PublicKey key;
    private final KeyType type;
    private final String fingerprint;

    TrustKey(Path file, PublicKey key, KeyType type, byte[] spkiSha256) {
        this.file = file;
        this.key = key;
        this.type = type;
        this.fingerprint = "sha256:" + HexFormat.of().formatHex(spkiSha256);
    }

    /** The file the key was read from, as the policy names it. */
    public Path file() {
        return file;
    }

    /** The key itself. */
    public PublicKey publicKey() {
        return key;
    }

    /** What kind of key it is, which decides how its signatures are checked. */
    public KeyType type() {
        return type;
    }

    /** {@code sha256:} and the hex SHA-256 of the key's DER SubjectPublicKeyInfo, for logs and messages. */
    public String fingerprint() {
        return fingerprint;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TrustKey other && fingerprint.equals(other.fingerprint);
    }

    @Override
    public int hashCode() {
        return fingerprint.hashCode();
    }

    @Override
    public String toString() {
        return type.label() + " key " + fingerprint.substring(0, 7 + 16) + " (" + file + ")";
    }
}
