package io.berth.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Checks {@code Authorization: Basic} headers against an {@link Htpasswd} file, as registry:2's htpasswd auth does,
 * with a cache of verified logins and budgets for failed ones.
 *
 * <ul>
 *   <li><b>Cache.</b> A verified login is remembered for a short time (default 5 minutes) under a salted SHA-256 of
 *       user, NUL and password, with a random salt per instance, so bcrypt does not run on every request and the
 *       password itself is never kept. The cache is emptied when the htpasswd file is reloaded. Concurrent checks
 *       of the same credentials share one bcrypt run.
 *   <li><b>Failure budgets.</b> Wrong passwords and unknown users count against the client's address, against
 *       the address and account together, and against the account (see {@link FailureLimiter}). While a budget is
 *       spent the answer is {@link Result.Limited}, without checking the password or the cache. Many clients may
 *       share an address (behind an Ingress, every one has the proxy's), so a budget kept by address refuses only
 *       accounts under attack, with a failure in the last {@code failingAddressMemory}: failures for other
 *       accounts from the same address cannot lock out an account nobody is guessing. The account's budget is
 *       enforced only on addresses that have themselves failed for it. Headers that cannot be decoded cost no
 *       bcrypt run and are not counted.
 *   <li><b>Password checks.</b> At most a few bcrypt runs at once (default one per core, at least two), so that
 *       guesses for ever new user names cannot take every core; an attempt that cannot start its check within a
 *       short wait (default 1 second) is answered {@link Result.Limited} and not counted.
 * </ul>
 *
 * <p>Wrong passwords and unknown users get the same answer in about the same time. Thread-safe; {@link #authenticate}
 * runs bcrypt on a cache miss, so call it where blocking for tens of milliseconds, or the wait for a check, is
 * acceptable.
 */
public final class BasicAuthenticator {
    /** The answer to a wrong password and to an unknown user alike. */
    static final String WRONG_CREDENTIALS = "invalid user name or password";

    /** What {@link #authenticate} found. */
    public sealed interface Result {
        /** The credentials are right. */
        record Authenticated(Principal principal) implements Result {}

        /** There was no Authorization header at all. */
        record Anonymous() implements Result {}

        /**
         * The header could not be decoded, or the user name or password is wrong.
         *
         * @param reason safe to show the client; it never tells an unknown user from a wrong password
         */
        record Invalid(String reason) implements Result {}

        /**
         * Too many failed attempts from this client for an account under attack, or too many password checks at
         * once; it was not checked.
         *
         * @param retryAfter how long to wait, in whole seconds (at least one), for a Retry-After header
         */
        record Limited(Duration retryAfter) implements Result {}
    }

    private static final Result ANONYMOUS = new Result.Anonymous();

    /** What an attempt that could not start its password check in time is told to wait. */
    private static final Duration BUSY_RETRY = Duration.ofSeconds(1);

    /** A verified login, valid while the htpasswd version it was checked against is the current one. */
    private record Verified(Principal principal, long generation) {}

    private final Htpasswd htpasswd;
    private final FailureLimiter limiter;
    /** Permits to run bcrypt, handed out first come, first served. */
    private final Semaphore passwordChecks;
    private final long passwordCheckWaitNanos;
    private final Cache<String, Verified> verified;
    private final ConcurrentMap<String, CompletableFuture<@Nullable Boolean>> inFlight = new ConcurrentHashMap<>();
    private final byte[] salt = new byte[32];
    private volatile long seenGeneration;

    private BasicAuthenticator(Builder builder) {
        this.htpasswd = builder.htpasswd;
        this.limiter = new FailureLimiter(builder.perAddress, builder.perAddressAndAccount, builder.perAccount,
                builder.failingAddressMemory, builder.maximumEntries, builder.ticker);
        this.passwordChecks = new Semaphore(builder.concurrentPasswordChecks, true);
        this.passwordCheckWaitNanos = builder.passwordCheckWait.toNanos();
        this.verified = Caffeine.newBuilder()
                .expireAfterWrite(builder.cacheTtl)
                .maximumSize(builder.maximumEntries)
                .ticker(builder.ticker)
                .executor(Runnable::run)
                .build();
        new SecureRandom().nextBytes(salt);
        this.seenGeneration = htpasswd.current().generation();
    }

    /**
     * A builder with the defaults: a 5-minute cache; 10 failures a minute per address, 5 per address and account,
     * and 20 per account; one password check at a time per core (at least two), waited for up to 1 second.
     */
    public static Builder builder(Htpasswd htpasswd) {
        return new Builder(htpasswd);
    }

    /**
     * Checks one request's credentials.
     *
     * @param authorizationHeader the Authorization header's value, or null when the request has none
     * @param clientAddress the client's IP address (without port), which failure budgets are kept by
     */
    public Result authenticate(@Nullable String authorizationHeader, String clientAddress) {
        if (authorizationHeader == null) {
            return ANONYMOUS;
        }
        BasicCredentials credentials;
        try {
            credentials = BasicCredentials.parse(authorizationHeader);
        } catch (BasicCredentials.MalformedException e) {
            return new Result.Invalid(e.reason());
        }
        try {
            return authenticate(credentials, clientAddress);
        } finally {
            credentials.erase();
        }
    }

    private Result authenticate(BasicCredentials credentials, String clientAddress) {
        HtpasswdEntries version = htpasswd.current();
        if (version.generation() != seenGeneration) {
            seenGeneration = version.generation();
            verified.invalidateAll();
        }
        String user = credentials.user();
        // Budgets first: a client that has spent one learns nothing, not even from the cache.
        Duration wait = limiter.blocked(clientAddress, user);
        if (wait != null) {
            return new Result.Limited(wait);
        }
        String key = cacheKey(credentials);
        Verified hit = verified.getIfPresent(key);
        if (hit != null && hit.generation() == version.generation()) {
            limiter.succeeded(clientAddress, user);
            return new Result.Authenticated(hit.principal());
        }
        while (true) {
            CompletableFuture<@Nullable Boolean> mine = new CompletableFuture<>();
            CompletableFuture<@Nullable Boolean> running = inFlight.putIfAbsent(key, mine);
            if (running != null) {
                // The same credentials are being checked right now: share that bcrypt run and its outcome.
                Boolean right = running.join();
                if (right == null) {
                    continue; // that check was refused or broke; make our own
                }
                if (right) {
                    limiter.succeeded(clientAddress, user);
                    return new Result.Authenticated(Principal.of(user));
                }
                return new Result.Invalid(WRONG_CREDENTIALS);
            }
            try {
                Result result = check(version, credentials, key, clientAddress);
                mine.complete(result instanceof Result.Limited ? null : result instanceof Result.Authenticated);
                return result;
            } finally {
                inFlight.remove(key, mine);
                mine.complete(null);
            }
        }
    }

    private Result check(HtpasswdEntries version, BasicCredentials credentials, String key, String clientAddress) {
        String user = credentials.user();
        FailureLimiter.Attempt attempt = limiter.acquire(clientAddress, user);
        if (attempt instanceof FailureLimiter.Refused refused) {
            return new Result.Limited(refused.retryAfter());
        }
        FailureLimiter.Permit permit = (FailureLimiter.Permit) attempt;
        if (!startCheck()) {
            limiter.cancelled(permit);
            return new Result.Limited(BUSY_RETRY);
        }
        boolean right = false;
        try {
            right = Htpasswd.verify(version, user, credentials.password());
        } finally {
            passwordChecks.release();
            if (right) {
                limiter.succeeded(permit);
            } else {
                limiter.failed(permit);
            }
        }
        if (!right) {
            return new Result.Invalid(WRONG_CREDENTIALS);
        }
        Principal principal = Principal.of(user);
        verified.put(key, new Verified(principal, version.generation()));
        return new Result.Authenticated(principal);
    }

    /** Takes a permit to run bcrypt, waiting for one at most the configured time; false when none came. */
    private boolean startCheck() {
        try {
            return passwordChecks.tryAcquire(passwordCheckWaitNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** SHA-256 of salt, user, NUL and password: user names have no NUL (control characters are refused). */
    private String cacheKey(BasicCredentials credentials) {
        try {
            MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
            sha256.update(salt);
            sha256.update(credentials.user().getBytes(StandardCharsets.UTF_8));
            sha256.update((byte) 0);
            sha256.update(credentials.password());
            return HexFormat.of().formatHex(sha256.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    @Override
    public String toString() {
        return "BasicAuthenticator[" + htpasswd + "]";
    }

    /** Settings of a {@link BasicAuthenticator}; each setter checks its value at once. */
    public static final class Builder {
        private final Htpasswd htpasswd;
        private Duration cacheTtl = Duration.ofMinutes(5);
        private long maximumEntries = 100_000;
        private FailureLimiter.Budget perAddress = new FailureLimiter.Budget(10, Duration.ofMinutes(1));
        private FailureLimiter.Budget perAddressAndAccount = new FailureLimiter.Budget(5, Duration.ofMinutes(1));
        private FailureLimiter.Budget perAccount = new FailureLimiter.Budget(20, Duration.ofMinutes(1));
        private Duration failingAddressMemory = Duration.ofMinutes(15);
        private int concurrentPasswordChecks = Math.max(2, Runtime.getRuntime().availableProcessors());
        private Duration passwordCheckWait = Duration.ofSeconds(1);
        private Ticker ticker = Ticker.systemTicker();

        private Builder(Htpasswd htpasswd) {
            this.htpasswd = Objects.requireNonNull(htpasswd, "htpasswd");
        }

        /** How long a verified login is remembered (default 5 minutes); zero turns the cache off. */
        public Builder cacheTtl(Duration ttl) {
            if (ttl.isNegative()) {
                throw new IllegalArgumentException("cacheTtl must not be negative, got " + ttl);
            }
            this.cacheTtl = ttl;
            return this;
        }

        /** The most verified logins, and the most tracked addresses and accounts, kept at once (default 100000). */
        public Builder maximumEntries(long entries) {
            if (entries < 1) {
                throw new IllegalArgumentException("maximumEntries must be at least 1, got " + entries);
            }
            this.maximumEntries = entries;
            return this;
        }

        /** Failures one address may have, over all accounts (default 10 per minute). */
        public Builder failuresPerAddress(int failures, Duration per) {
            this.perAddress = budget("failuresPerAddress", failures, per);
            return this;
        }

        /** Failures one address may have for one account (default 5 per minute). */
        public Builder failuresPerAddressAndAccount(int failures, Duration per) {
            this.perAddressAndAccount = budget("failuresPerAddressAndAccount", failures, per);
            return this;
        }

        /**
         * Failures one account may have from all addresses together (default 20 per minute), enforced on the
         * addresses that have themselves failed for it.
         */
        public Builder failuresPerAccount(int failures, Duration per) {
            this.perAccount = budget("failuresPerAccount", failures, per);
            return this;
        }

        /**
         * How long an address that failed for an account stays held to the account's budget, and how long a failure
         * keeps an account under attack, so that a spent address budget refuses it (default 15 minutes; an account
         * stays under attack at least as long as the address and the address-and-account budgets take to refill).
         */
        public Builder failingAddressMemory(Duration memory) {
            if (memory.isNegative()) {
                throw new IllegalArgumentException("failingAddressMemory must not be negative, got " + memory);
            }
            this.failingAddressMemory = memory;
            return this;
        }

        /**
         * How many bcrypt runs may go on at once (default one per core, at least two), and how long an attempt waits
         * for one to end before it is answered {@link Result.Limited} (default 1 second; zero: not at all).
         */
        public Builder concurrentPasswordChecks(int checks, Duration maxWait) {
            if (checks < 1) {
                throw new IllegalArgumentException("concurrentPasswordChecks must be at least 1, got " + checks);
            }
            if (maxWait.isNegative()) {
                throw new IllegalArgumentException("concurrentPasswordChecks: the wait must not be negative, got "
                        + maxWait);
            }
            this.concurrentPasswordChecks = checks;
            this.passwordCheckWait = maxWait;
            return this;
        }

        /** The time source of the cache and the budgets (default the system's monotonic ticker). */
        public Builder ticker(Ticker ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /** An authenticator with these settings; each has its own cache, salt and budgets. */
        public BasicAuthenticator build() {
            return new BasicAuthenticator(this);
        }

        private static FailureLimiter.Budget budget(String name, int failures, Duration per) {
            try {
                return new FailureLimiter.Budget(failures, per);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
            }
        }
    }
}
