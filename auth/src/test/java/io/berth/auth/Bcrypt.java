package io.berth.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

/** htpasswd lines made with BouncyCastle, as {@code htpasswd -B} makes them. */
final class Bcrypt {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Bcrypt() {}

    /** A {@code $2y$} hash of cost 4, fast enough for tests. */
    static String hash(String password) {
        return hash("2y", password, 4);
    }

    static String hash(String version, String password, int cost) {
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        return OpenBSDBCrypt.generate(version, password.getBytes(StandardCharsets.UTF_8), salt, cost);
    }

    static String line(String user, String password) {
        return user + ":" + hash(password) + "\n";
    }

    static Path write(Path file, String content) throws IOException {
        Files.writeString(file, content, StandardCharsets.UTF_8);
        return file;
    }
}
