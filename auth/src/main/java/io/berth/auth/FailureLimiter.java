package io.berth.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Budgets of failed logins, kept so that an attacker slows down only themselves and the accounts they attack.
 *
 * <p>Many clients may share one address: behind an Ingress or a NAT every client has the proxy's. So no budget kept
 * by address refuses the right password for an account that is not under attack, that is, one with no failure
 * confirmed, from any address, in the last {@code failingAddressMemory} (default 15 minutes; never less than the
 * address budget's or the address-and-account budget's period).
 *
 * <ul>
 *   <li><b>Per address</b> (default 10 a minute): every failure from an address, whatever the account, so that one
 *       address cannot spray guesses over many accounts. While it is spent, attempts for accounts under attack are
 *       refused, but an account that is not under attack still gets its password checked, one attempt at a time, and a
 *       wrong one puts it under attack. So a sprayer gets, beyond the address budget, one guess per account per
 *       {@code failingAddressMemory}, while a client with the right password for an account nobody is guessing
 *       gets in.
 *   <li><b>Per address and account</b> (default 5 a minute): failures from one address for one account. Only
 *       failures for the account spend it, so it refuses only an account under attack.
 *   <li><b>Per account</b> (default 20 a minute): failures for one account from all addresses together. It is
 *       recorded for every failure but enforced only on addresses that have themselves failed for that account in
 *       the last {@code failingAddressMemory}, so a distributed guesser is held to it while a client on an address
 *       that has not failed for the account still gets in with the right password.
 * </ul>
 *
 * <p>Each budget is a token bucket kept as one number, the "theoretical arrival time" of the generic cell rate
 * algorithm: {@code n} failures in a period may come at once, then one more each {@code period / n}. Before a
 * password is checked, a failure is reserved in every budget (atomically per budget), so that many concurrent
 * attempts cannot overrun a budget; a right password gives the reservation back and forgets the address's
 * failures for the account. Accounts are tracked by name whether or not they exist, so the answers do not tell
 * unknown users from wrong passwords. IPv6 addresses count by their /64 network, the smallest block a host
 * usually gets. Time is read from the ticker. Thread-safe.
 */
final class FailureLimiter {
    /** Account names longer than this are kept as their SHA-256, so that a hostile name cannot pin memory. */
    private static final int MAX_KEY_CHARS = 128;

    /**
     * At most {@code failures} failures per {@code period}.
     *
     * @param failures how many failures may come at once, at least one
     * @param period the time in which the budget refills
     */
    record Budget(int failures, Duration period) {
        Budget {
            if (failures < 1) {
                throw new IllegalArgumentException("a failure budget needs at least 1 failure, got " + failures);
            }
            if (period.isNegative() || period.isZero()) {
                throw new IllegalArgumentException("a failure budget needs a positive period, got " + period);
            }
        }

        long periodNanos() {
            return period.toNanos();
        }

        /** The time one failure takes to refill. */
        long intervalNanos() {
            return Math.max(1, periodNanos() / failures);
        }

        /** How far ahead the arrival time may run before the budget is spent. */
        long toleranceNanos() {
            return periodNanos() - intervalNanos();
        }
    }

    /**
     * One budget's state.
     *
     * @param tat the generic cell rate algorithm's theoretical arrival time, on the ticker's scale
     * @param failed whether a failure has been confirmed (not just reserved); kept for pairs and accounts
     * @param lastFailure when the last one was, if {@code failed}
     */
    private record Bucket(long tat, boolean failed, long lastFailure) {}

    private record Pair(String address, String account) {}

    /** The outcome of {@link #acquire}: a permit to check a password, or how long to wait. */
    sealed interface Attempt {}

    /**
     * A failure reserved in every budget that applies; report the outcome with {@link #failed}, {@link #succeeded}
     * or {@link #cancelled}, exactly once.
     *
     * @param beyondAddressBudget the address budget was spent and the account not under attack: nothing was
     *     reserved in the address budget, and this is the account's one check in flight beyond it
     */
    record Permit(String address, String account, boolean beyondAddressBudget) implements Attempt {
        Pair pair() {
            return new Pair(address, account);
        }
    }

    /** A budget is spent; the attempt was not counted. */
    record Refused(Duration retryAfter) implements Attempt {}

    private final Budget perAddress;
    private final Budget perAddressAndAccount;
    private final Budget perAccount;
    private final long memoryNanos;
    /** How long an account's last confirmed failure keeps it under attack. */
    private final long attackMemoryNanos;
    private final Ticker ticker;
    private final Cache<String, Bucket> byAddress;
    private final Cache<Pair, Bucket> byPair;
    /** The account budgets, and when each account last failed. */
    private final Cache<String, Bucket> byAccount;
    /** Accounts with a check in flight beyond a spent address budget: one at a time, so that a burst cannot overrun. */
    private final Set<String> checkingBeyondAddressBudget = ConcurrentHashMap.newKeySet();

    FailureLimiter(Budget perAddress, Budget perAddressAndAccount, Budget perAccount, Duration failingAddressMemory,
            long maximumEntries, Ticker ticker) {
        if (failingAddressMemory.isNegative()) {
            throw new IllegalArgumentException("failingAddressMemory must not be negative, got " + failingAddressMemory);
        }
        this.perAddress = perAddress;
        this.perAddressAndAccount = perAddressAndAccount;
        this.perAccount = perAccount;
        this.memoryNanos = failingAddressMemory.toNanos();
        // At least as long as the budgets kept by address refill, so that they refuse only accounts under attack
        // and a zero failingAddressMemory does not let a sprayer past the address budget at will.
        Duration attackMemory = max(failingAddressMemory, max(perAddress.period(), perAddressAndAccount.period()));
        this.attackMemoryNanos = attackMemory.toNanos();
        this.ticker = ticker;
        // A bucket untouched for its period is full again, the same as no bucket; a pair is kept long enough
        // to remember that its address failed for the account, and an account that it is under attack.
        this.byAddress = cache(perAddress.period(), maximumEntries, ticker);
        this.byPair = cache(max(perAddressAndAccount.period(), failingAddressMemory), maximumEntries, ticker);
        this.byAccount = cache(max(perAccount.period(), attackMemory), maximumEntries, ticker);
    }

    private static <K> Cache<K, Bucket> cache(Duration expiry, long maximumEntries, Ticker ticker) {
        return Caffeine.newBuilder()
                .expireAfterWrite(expiry)
                .maximumSize(maximumEntries)
                .ticker(ticker)
                .executor(Runnable::run)
                .build();
    }

    /**
     * How long an attempt from the address for the account must wait, or null when it may go ahead. Counts nothing;
     * refuses what {@link #acquire} would, except an attempt that would wait for another check of the account.
     */
    @Nullable Duration blocked(String clientAddress, String account) {
        long now = ticker.read();
        String address = addressKey(clientAddress);
        String accountKey = accountKey(account);
        Bucket pair = byPair.getIfPresent(new Pair(address, accountKey));
        long wait = wait(pair, perAddressAndAccount, now);
        if (underAttack(accountKey, now)) {
            wait = Math.max(wait, wait(byAddress.getIfPresent(address), perAddress, now));
        }
        if (failedRecently(pair, now)) {
            wait = Math.max(wait, wait(byAccount.getIfPresent(accountKey), perAccount, now));
        }
        return wait > 0 ? retryAfter(wait) : null;
    }

    /** Reserves a failure in every budget that applies, or says how long to wait when one is spent. */
    Attempt acquire(String clientAddress, String account) {
        long now = ticker.read();
        String address = addressKey(clientAddress);
        String accountKey = accountKey(account);
        Pair pair = new Pair(address, accountKey);
        long wait = reserve(byAddress, address, perAddress, now);
        boolean beyond = wait > 0;
        if (beyond) {
            // Claimed before looking, and given up only after the failure is marked, so that concurrent attempts
            // cannot all find the account not under attack.
            if (!checkingBeyondAddressBudget.add(accountKey)) {
                return new Refused(retryAfter(wait));
            }
            if (underAttack(accountKey, now)) {
                checkingBeyondAddressBudget.remove(accountKey);
                return new Refused(retryAfter(wait));
            }
        }
        boolean accountEnforced = failedRecently(byPair.getIfPresent(pair), now);
        wait = reserve(byPair, pair, perAddressAndAccount, now);
        if (wait > 0) {
            giveBackAddress(address, accountKey, beyond);
            return new Refused(retryAfter(wait));
        }
        if (accountEnforced) {
            wait = reserve(byAccount, accountKey, perAccount, now);
            if (wait > 0) {
                refund(byPair, pair, perAddressAndAccount);
                giveBackAddress(address, accountKey, beyond);
                return new Refused(retryAfter(wait));
            }
        } else {
            // Recorded, not enforced: this address has not failed for the account, so it is not held to it.
            record(byAccount, accountKey, perAccount, now);
        }
        return new Permit(address, accountKey, beyond);
    }

    /**
     * The password was wrong: the reservation stands, the address now counts as failing for the account, and the
     * account is under attack.
     */
    void failed(Permit permit) {
        long now = ticker.read();
        markFailed(byPair, permit.pair(), perAddressAndAccount, now);
        markFailed(byAccount, permit.account(), perAccount, now);
        if (permit.beyondAddressBudget()) {
            checkingBeyondAddressBudget.remove(permit.account());
        }
    }

    /** The password was right: the reservation is given back, and the address's failures for the account forgotten. */
    void succeeded(Permit permit) {
        byPair.invalidate(permit.pair());
        refund(byAccount, permit.account(), perAccount);
        giveBackAddress(permit.address(), permit.account(), permit.beyondAddressBudget());
    }

    /** The password was not checked after all: every reservation is given back. */
    void cancelled(Permit permit) {
        refund(byPair, permit.pair(), perAddressAndAccount);
        refund(byAccount, permit.account(), perAccount);
        giveBackAddress(permit.address(), permit.account(), permit.beyondAddressBudget());
    }

    /** Gives back the address budget's reservation, or the account's check beyond it. */
    private void giveBackAddress(String address, String accountKey, boolean beyond) {
        if (beyond) {
            checkingBeyondAddressBudget.remove(accountKey);
        } else {
            refund(byAddress, address, perAddress);
        }
    }

    /** A login known to be right (from the cache): forget the address's failures for the account. */
    void succeeded(String clientAddress, String account) {
        byPair.invalidate(new Pair(addressKey(clientAddress), accountKey(account)));
    }

    private static long wait(@Nullable Bucket bucket, Budget budget, long now) {
        return bucket == null ? 0 : bucket.tat() - now - budget.toleranceNanos();
    }

    private boolean failedRecently(@Nullable Bucket pair, long now) {
        return pair != null && pair.failed() && now - pair.lastFailure() < memoryNanos;
    }

    /** Whether the account has a confirmed failure, from any address, recent enough for budgets kept by address. */
    private boolean underAttack(String accountKey, long now) {
        Bucket account = byAccount.getIfPresent(accountKey);
        return account != null && account.failed() && now - account.lastFailure() < attackMemoryNanos;
    }

    /** Confirms a failure reserved earlier (reserving it again if the entry was evicted meanwhile). */
    private static <K> void markFailed(Cache<K, Bucket> cache, K key, Budget budget, long now) {
        long interval = budget.intervalNanos();
        cache.asMap().compute(key, (k, b) -> new Bucket(b == null ? now + interval : b.tat(), true, now));
    }

    /** Spends one failure if the budget has one; returns 0, or how long until it has. */
    private static <K> long reserve(Cache<K, Bucket> cache, K key, Budget budget, long now) {
        long[] wait = {0};
        cache.asMap().compute(key, (k, b) -> {
            long tat = b == null || b.tat() - now < 0 ? now : b.tat();
            long w = tat - now - budget.toleranceNanos();
            if (w > 0) {
                wait[0] = w;
                return b;
            }
            return new Bucket(tat + budget.intervalNanos(), b != null && b.failed(), b == null ? 0 : b.lastFailure());
        });
        return wait[0];
    }

    /** Spends one failure whether or not the budget has one; it never runs more than one period into debt. */
    private static <K> void record(Cache<K, Bucket> cache, K key, Budget budget, long now) {
        cache.asMap().compute(key, (k, b) -> {
            long tat = b == null || b.tat() - now < 0 ? now : b.tat();
            long next = tat + budget.intervalNanos();
            if (next - now > budget.periodNanos()) {
                next = now + budget.periodNanos();
            }
            return new Bucket(next, b != null && b.failed(), b == null ? 0 : b.lastFailure());
        });
    }

    private static <K> void refund(Cache<K, Bucket> cache, K key, Budget budget) {
        cache.asMap().computeIfPresent(key,
                (k, b) -> new Bucket(b.tat() - budget.intervalNanos(), b.failed(), b.lastFailure()));
    }

    /** Whole seconds, rounded up, at least one: what a Retry-After header can carry. */
    private static Duration retryAfter(long waitNanos) {
        long seconds = Math.max(1, (waitNanos + TimeUnit.SECONDS.toNanos(1) - 1) / TimeUnit.SECONDS.toNanos(1));
        return Duration.ofSeconds(seconds);
    }

    /**
     * The key an address counts under: an IPv6 address by its /64 network (an IPv4-mapped one as IPv4); anything
     * else as given, without a port if it has one. Only literals are parsed, never looked up in DNS.
     */
    static String addressKey(String address) {
        String a = address.strip();
        if (a.startsWith("[")) {
            int close = a.indexOf(']');
            a = close > 0 ? a.substring(1, close) : a;
        } else if (a.indexOf(':') >= 0 && a.indexOf(':') == a.lastIndexOf(':')) {
            a = a.substring(0, a.indexOf(':')); // host:port; an IPv6 literal has at least two colons
        }
        int zone = a.indexOf('%');
        if (zone >= 0) {
            a = a.substring(0, zone);
        }
        if (isIpv6Literal(a)) {
            try {
                // With a colon in it and a hex digit or colon first, the JDK parses the text as an IPv6 literal
                // and throws if it is not one; it never resolves it.
                InetAddress parsed = InetAddress.getByName(a);
                if (parsed instanceof Inet6Address) {
                    return HexFormat.of().formatHex(parsed.getAddress(), 0, 8) + "::/64";
                }
                if (parsed instanceof Inet4Address) {
                    return parsed.getHostAddress();
                }
            } catch (UnknownHostException | IllegalArgumentException e) {
                // Not an address after all: count it as the text it is.
            }
        }
        return bounded(a);
    }

    static String accountKey(String account) {
        return bounded(account);
    }

    private static boolean isIpv6Literal(String a) {
        if (a.length() < 2 || a.length() > 45 || a.indexOf(':') < 0 || !isHex(a.charAt(0)) && a.charAt(0) != ':') {
            return false;
        }
        for (int i = 0; i < a.length(); i++) {
            char c = a.charAt(i);
            if (!isHex(c) && c != ':' && c != '.') {
                return false;
            }
        }
        return true;
    }

    private static boolean isHex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    private static String bounded(String text) {
        if (text.length() <= MAX_KEY_CHARS) {
            return text;
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return "sha256:" + HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
