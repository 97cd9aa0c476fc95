package io.berth.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

/** The one htpasswd writer of Berth's tests: bcrypt lines as {@code htpasswd -B} writes them, made with BouncyCastle. */
public final class HtpasswdFiles {
    private static final SecureRandom RANDOM = new SecureRandom();

    private HtpasswdFiles() {}

    /** A {@code $2y$} hash of cost 4: fast, and still what {@code htpasswd -B} writes. */
    public static String hash(String password) {
        return hash("2y", password, 4);
    }

    public static String hash(String version, String password, int cost) {
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        return OpenBSDBCrypt.generate(version, password.getBytes(StandardCharsets.UTF_8), salt, cost);
    }

    /** {@code user:hash} and a newline. */
    public static String line(String user, String password) {
        return user + ":" + hash(password) + "\n";
    }

    /** Writes an htpasswd file of {@code user, password, user, password…}; returns {@code file}. */
    public static Path write(Path file, String... usersAndPasswords) {
        if (usersAndPasswords.length % 2 != 0) {
            throw new IllegalArgumentException("users and passwords come in pairs");
        }
        Map<String, String> passwords = new LinkedHashMap<>();
        for (int i = 0; i < usersAndPasswords.length; i += 2) {
            passwords.put(usersAndPasswords[i], usersAndPasswords[i + 1]);
        }
        return write(file, passwords);
    }

    /** Writes an htpasswd file of {@code passwords} (user to password), in their order; returns {@code file}. */
    public static Path write(Path file, Map<String, String> passwords) {
        StringBuilder lines = new StringBuilder();
        passwords.forEach((user, password) -> lines.append(line(user, password)));
        try {
            return Files.writeString(file, lines, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes {@code content} as it is (hand-made lines, comments, malformed entries); returns {@code file}. */
    public static Path writeText(Path file, String content) {
        try {
            return Files.writeString(file, content, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A password nobody could guess, with a readable prefix for logs. */
    public static String password(String prefix) {
        byte[] bytes = new byte[12];
        RANDOM.nextBytes(bytes);
        return prefix + "-" + HexFormat.of().formatHex(bytes);
    }
}
