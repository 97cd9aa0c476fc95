package io.berth.auth;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.jspecify.annotations.Nullable;

/**
 * One parsed version of an htpasswd file: user → bcrypt hash, plus the file's usual cost, the cost of the dummy hash
 * checked for unknown users so that the time an answer takes does not tell which users exist.
 *
 * @param hashes user → bcrypt hash
 * @param dummyCost the cost of {@link #dummyHash()}
 * @param stamp the file's identity when it was read
 * @param generation counts successful loads, so that caches can tell a reload happened
 */
record HtpasswdEntries(Map<String, String> hashes, int dummyCost, FileStamp stamp, long generation) {
    /** {@code $2a$}, {@code $2b$} or {@code $2y$}, a cost of 04 to 31, 22 characters of salt and 31 of hash. */
    private static final Pattern BCRYPT = Pattern.compile("\\$2[aby]\\$(0[4-9]|[12][0-9]|3[01])\\$[./A-Za-z0-9]{53}");
    /** {@code htpasswd -B}'s default cost, used for the dummy hash of a file without users. */
    private static final int DEFAULT_COST = 5;
    private static final SecureRandom RANDOM = new SecureRandom();
    /**
     * Dummy hashes by cost, made on first need and then shared by every version of the same cost: making one runs
     * bcrypt, which at load would sit on the start-up path and on every reload.
     */
    private static final ConcurrentMap<Integer, String> DUMMY_HASHES = new ConcurrentHashMap<>();

    HtpasswdEntries {
        hashes = Collections.unmodifiableMap(hashes);
    }

    /**
     * Parses the file as registry:2 does: one {@code user:hash} per line, surrounding blanks trimmed, empty lines
     * and lines starting with {@code #} skipped, the user before the first colon. Stricter than registry:2 in what
     * it refuses rather than ignores.
     *
     * @throws IllegalArgumentException naming the file and line, for a line that is not UTF-8, has no colon or no
     *     user, repeats a user, or holds a hash other than bcrypt
     */
    static HtpasswdEntries parse(Path file, byte[] content, FileStamp stamp, long generation) {
        Map<String, String> hashes = new HashMap<>();
        Map<String, Integer> lineOf = new HashMap<>();
        Map<Integer, Integer> costs = new TreeMap<>();
        int start = startsWithBom(content) ? 3 : 0;
        int lineNumber = 0;
        while (start <= content.length) {
            int end = indexOf(content, (byte) '\n', start);
            lineNumber++;
            String line = decode(file, lineNumber, content, start, end).strip();
            start = end + 1;
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = "htpasswd " + file + " line " + lineNumber;
            int colon = line.indexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException(where + ": expected user:hash, found no ':'");
            }
            String user = line.substring(0, colon).strip();
            String hash = line.substring(colon + 1);
            if (user.isEmpty()) {
                throw new IllegalArgumentException(where + ": the user name before ':' is empty");
            }
            String problem = hashProblem(hash);
            if (problem != null) {
                throw new IllegalArgumentException(where + ": user " + Messages.quote(user) + " has " + problem
                        + "; registry:2 and Berth accept only bcrypt ($2y$, $2a$ or $2b$), as written by htpasswd -B");
            }
            Integer earlier = lineOf.putIfAbsent(user, lineNumber);
            if (earlier != null) {
                throw new IllegalArgumentException(where + ": user " + Messages.quote(user)
                        + " is already defined on line " + earlier + "; remove one of the two");
            }
            hashes.put(user, hash);
            costs.merge(Integer.parseInt(hash.substring(4, 6)), 1, Integer::sum);
        }
        return new HtpasswdEntries(hashes, usualCost(costs), stamp, generation);
    }

    /**
     * A well-formed bcrypt hash of {@link #dummyCost()} that no password matches. Made once per cost, by the first
     * caller (others wait for it), so an unknown user's answer never takes less than a check against it.
     */
    String dummyHash() {
        return DUMMY_HASHES.computeIfAbsent(dummyCost, HtpasswdEntries::newDummyHash);
    }

    /** What is wrong with a hash, as a phrase ("an MD5 ($apr1$) hash"), or null for a well-formed bcrypt hash. */
    private static @Nullable String hashProblem(String hash) {
        if (BCRYPT.matcher(hash).matches()) {
            return null;
        }
        if (hash.isEmpty()) {
            return "no password hash";
        }
        if (hash.startsWith("$2x$")) {
            return "a $2x$ bcrypt hash (crypt_blowfish's compatibility mode, which BouncyCastle and Go do not verify)";
        }
        if (hash.startsWith("$2")) {
            return "a malformed bcrypt hash (expected $2y$, a cost from 04 to 31, '$' and 53 characters of salt and hash)";
        }
        if (hash.startsWith("$apr1$")) {
            return "an MD5 ($apr1$) hash";
        }
        if (hash.startsWith("{SHA}")) {
            return "a SHA-1 ({SHA}) hash";
        }
        if (hash.startsWith("$1$")) {
            return "an MD5-crypt ($1$) hash";
        }
        if (hash.startsWith("$5$") || hash.startsWith("$6$")) {
            return "a SHA-crypt (" + hash.substring(0, 3) + ") hash";
        }
        return "a crypt(3) or plain-text password";
    }

    /** The cost most users have (the highest of equally common ones); {@code htpasswd -B}'s default when none. */
    private static int usualCost(Map<Integer, Integer> costs) {
        int best = DEFAULT_COST;
        int count = 0;
        for (Map.Entry<Integer, Integer> e : costs.entrySet()) {
            if (e.getValue() >= count) {
                best = e.getKey();
                count = e.getValue();
            }
        }
        return best;
    }

    /**
     * A well-formed {@code $2y$} hash of the given cost that no password matches: a cheap hash of random bytes
     * with its cost field rewritten, so checking a password against it costs as much as checking a real one.
     */
    private static String newDummyHash(int cost) {
        byte[] password = new byte[16];
        byte[] salt = new byte[16];
        RANDOM.nextBytes(password);
        RANDOM.nextBytes(salt);
        String hash = OpenBSDBCrypt.generate("2y", password, salt, 4);
        return String.format("$2y$%02d$%s", cost, hash.substring(7));
    }

    private static String decode(Path file, int lineNumber, byte[] content, int start, int end) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(content, start, end - start))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("htpasswd " + file + " line " + lineNumber + ": not valid UTF-8");
        }
    }

    private static boolean startsWithBom(byte[] content) {
        return content.length >= 3 && content[0] == (byte) 0xEF && content[1] == (byte) 0xBB && content[2] == (byte) 0xBF;
    }

    private static int indexOf(byte[] content, byte b, int from) {
        for (int i = from; i < content.length; i++) {
            if (content[i] == b) {
                return i;
            }
        }
        return content.length;
    }
}
