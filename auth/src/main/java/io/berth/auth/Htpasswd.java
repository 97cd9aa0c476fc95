package io.berth.auth;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.Collections;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The accounts of an Apache htpasswd file of bcrypt entries ({@code user:$2y$...}, also {@code $2a$} and
 * {@code $2b$}), as registry:2's {@code auth.htpasswd} reads it.
 *
 * <p>Other hash formats (MD5 {@code $apr1$}, SHA {@code {SHA}}, crypt) are refused when the file is loaded, with
 * a message that names the line, because registry:2 accepts only bcrypt.
 *
 * <p>The file is reloaded when it changes: at most once a second (by the injected clock), a lookup compares the
 * file's real path, modification time, size and file key with those it was read at. A Kubernetes Secret volume,
 * which swaps a symlink to a new directory, is seen through the real path. A reload that fails (the file is
 * missing, unreadable or invalid) keeps the previous accounts and logs one warning per broken version.
 *
 * <p>Checking a password for an unknown user costs as much as for a known one: it is checked against a dummy hash
 * of the file's usual cost, so the time an answer takes does not tell which users exist. Thread-safe.
 */
public final class Htpasswd {
    private static final Logger LOG = LoggerFactory.getLogger(Htpasswd.class);
    /** How often, at most, the file is looked at for changes. */
    static final long CHECK_INTERVAL_MILLIS = 1000;
    /** Far more than any real htpasswd file; a larger file is refused rather than read into memory. */
    static final int MAX_FILE_BYTES = 16 * 1024 * 1024;

    private final Path file;
    private final Clock clock;
    private final AtomicLong nextCheck;
    private volatile HtpasswdEntries entries;
    /** The stamp of a version that failed to load, so that it is neither re-read nor re-reported every second. */
    private volatile @Nullable FileStamp rejected;
    /** The last problem reported about the file itself (missing, unreadable), for the same reason. */
    private volatile @Nullable String lastProblem;

    private Htpasswd(Path file, Clock clock, HtpasswdEntries entries) {
        this.file = file;
        this.clock = clock;
        this.entries = entries;
        this.nextCheck = new AtomicLong(clock.millis() + CHECK_INTERVAL_MILLIS);
    }

    /**
     * Loads the file, which is then watched for changes with the system clock.
     *
     * @throws IOException if the file cannot be read, or is larger than 16 MiB
     * @throws IllegalArgumentException naming the file and line, for a line that is not a bcrypt entry
     */
    public static Htpasswd load(Path file) throws IOException {
        return load(file, Clock.systemUTC());
    }

    /**
     * Loads the file, which is then watched for changes with the given clock (tests pass a fake one).
     *
     * @throws IOException if the file cannot be read, or is larger than 16 MiB
     * @throws IllegalArgumentException naming the file and line, for a line that is not a bcrypt entry
     */
    public static Htpasswd load(Path file, Clock clock) throws IOException {
        Objects.requireNonNull(clock, "clock");
        return new Htpasswd(file, clock, read(file, FileStamp.of(file), 1));
    }

    /** The file, as it was given (not resolved through links). */
    public Path file() {
        return file;
    }

    /** The users of the current version of the file, sorted. */
    public Set<String> users() {
        return Collections.unmodifiableSet(new TreeSet<>(current().hashes().keySet()));
    }

    /**
     * Whether the password is the user's. Takes as long for an unknown user as for a known one. Only the first 72
     * bytes of the password's UTF-8 form count, as in every bcrypt implementation.
     */
    public boolean verify(String user, char[] password) {
        ByteBuffer encoded = StandardCharsets.UTF_8.encode(CharBuffer.wrap(password));
        byte[] bytes = new byte[encoded.remaining()];
        encoded.get(bytes);
        try {
            return verify(current(), user, bytes);
        } finally {
            Arrays.fill(bytes, (byte) 0);
            if (encoded.hasArray()) {
                Arrays.fill(encoded.array(), (byte) 0);
            }
        }
    }

    /** As {@link #verify(String, char[])} against a given version, with the UTF-8 bytes a Basic header carries. */
    static boolean verify(HtpasswdEntries version, String user, byte[] password) {
        String hash = version.hashes().get(user);
        if (hash == null) {
            OpenBSDBCrypt.checkPassword(version.dummyHash(), password);
            return false;
        }
        return OpenBSDBCrypt.checkPassword(hash, password);
    }

    /**
     * The current version of the file: looks at the file first when a second has passed since it last did, and
     * reloads it if it changed. Only one caller at a time does the looking; the others go on with what is loaded.
     */
    HtpasswdEntries current() {
        long now = clock.millis();
        long next = nextCheck.get();
        // A clock that jumped back by more than the interval would otherwise stop the checks until it caught up.
        boolean due = now >= next || now < next - CHECK_INTERVAL_MILLIS;
        if (due && nextCheck.compareAndSet(next, now + CHECK_INTERVAL_MILLIS)) {
            reloadIfChanged();
        }
        return entries;
    }

    private void reloadIfChanged() {
        HtpasswdEntries old = entries;
        FileStamp stamp;
        try {
            stamp = FileStamp.of(file);
        } catch (IOException e) {
            String problem = "htpasswd " + file + " cannot be read (" + e + ")";
            if (!problem.equals(lastProblem)) {
                lastProblem = problem;
                LOG.warn("{}; keeping the {} accounts loaded before", problem, old.hashes().size());
            }
            return;
        }
        lastProblem = null;
        if (stamp.equals(old.stamp()) || stamp.equals(rejected)) {
            return;
        }
        try {
            entries = read(file, stamp, old.generation() + 1);
            rejected = null;
            LOG.info("htpasswd {} reloaded: {} accounts", file, entries.hashes().size());
        } catch (IOException | IllegalArgumentException e) {
            rejected = stamp;
            LOG.warn("htpasswd {} changed but was not reloaded: {}; keeping the {} accounts loaded before", file,
                    e.getMessage(), old.hashes().size());
        }
    }

    private static HtpasswdEntries read(Path file, FileStamp stamp, long generation) throws IOException {
        byte[] content;
        try (InputStream in = Files.newInputStream(file)) {
            content = in.readNBytes(MAX_FILE_BYTES + 1);
        }
        if (content.length > MAX_FILE_BYTES) {
            throw new IOException("htpasswd " + file + " is larger than " + MAX_FILE_BYTES + " bytes");
        }
        return HtpasswdEntries.parse(file, content, stamp, generation);
    }

    @Override
    public String toString() {
        return "Htpasswd[" + file + ", " + entries.hashes().size() + " accounts]";
    }
}
