package io.berth.auth;

import io.berth.testing.HtpasswdFiles;
import static io.berth.auth.BasicAuthenticatorTest.basic;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.auth.BasicAuthenticator.Result;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The failure budgets: an attacker slows only themselves and the accounts they attack. Defaults: 10/min per address,
 * 5 per address+account, 20 per account, 15 minutes of memory.
 */
class BasicAuthenticatorLimitTest {
    private static final String RIGHT = basic("alice:s3cret");
    /** The address every client has behind an Ingress. */
    private static final String INGRESS = "10.42.0.17";

    @TempDir
    Path dir;

    private final FakeTime time = new FakeTime();
    private Htpasswd htpasswd;
    private BasicAuthenticator authenticator;

    @BeforeEach
    void setUp() throws IOException {
        htpasswd = Htpasswd.load(HtpasswdFiles.writeText(dir.resolve("htpasswd"), HtpasswdFiles.line("alice", "s3cret")
                + HtpasswdFiles.line("bob", "b0b") + HtpasswdFiles.line("jürgen", "pässwörd")
                + HtpasswdFiles.line("cluster", "c1uster") + HtpasswdFiles.line("admin", "adm1n")), time);
        authenticator = BasicAuthenticator.builder(htpasswd).ticker(time).build();
    }

    private Result attempt(String userColonPassword, String address) {
        return authenticator.authenticate(basic(userColonPassword), address);
    }

    private void fail(String user, String address, int times) {
        for (int i = 0; i < times; i++) {
            assertThat(attempt(user + ":wrong" + i, address)).as("failure %d from %s", i, address).isInstanceOf(Result.Invalid.class);
        }
    }

    @Test
    void sixthWrongPasswordFromOneAddressForOneAccountIsLimited() {
        fail("alice", "198.51.100.1", 5);

        assertThat(attempt("alice:wrong", "198.51.100.1")).isInstanceOf(Result.Limited.class);
    }

    @Test
    void limitedClientIsNotCheckedEvenWithTheRightPassword() {
        fail("alice", "198.51.100.1", 5);

        assertThat(authenticator.authenticate(RIGHT, "198.51.100.1")).isInstanceOf(Result.Limited.class);
    }

    @Test
    void limitedClientIsNotLetInByACachedLogin() {
        assertThat(authenticator.authenticate(RIGHT, "198.51.100.1")).isInstanceOf(Result.Authenticated.class);
        fail("alice", "198.51.100.1", 5);

        assertThat(authenticator.authenticate(RIGHT, "198.51.100.1")).isInstanceOf(Result.Limited.class);
    }

    @Test
    void retryAfterIsWhenTheNextFailureIsAllowed() {
        fail("alice", "198.51.100.1", 5);

        // 5 a minute: one more every 12 seconds.
        assertThat(attempt("alice:wrong", "198.51.100.1")).isEqualTo(new Result.Limited(Duration.ofSeconds(12)));
        time.advance(Duration.ofSeconds(11));
        assertThat(attempt("alice:wrong", "198.51.100.1")).isEqualTo(new Result.Limited(Duration.ofSeconds(1)));
        time.advance(Duration.ofMillis(500));
        assertThat(attempt("alice:wrong", "198.51.100.1")).isEqualTo(new Result.Limited(Duration.ofSeconds(1)));
        time.advance(Duration.ofMillis(500));
        assertThat(authenticator.authenticate(RIGHT, "198.51.100.1")).isInstanceOf(Result.Authenticated.class);
    }

    @Test
    void budgetRefillsOnlyAtItsRate() {
        fail("alice", "198.51.100.1", 5);
        time.advance(Duration.ofSeconds(12));

        fail("alice", "198.51.100.1", 1);
        assertThat(attempt("alice:wrong", "198.51.100.1")).isInstanceOf(Result.Limited.class);

        time.advance(Duration.ofMinutes(1));
        fail("alice", "198.51.100.1", 5);
        assertThat(attempt("alice:wrong", "198.51.100.1")).isInstanceOf(Result.Limited.class);
    }

    @Test
    void limitedAttemptsDoNotExtendTheWait() {
        fail("alice", "198.51.100.1", 5);
        for (int i = 0; i < 50; i++) {
            assertThat(attempt("alice:wrong", "198.51.100.1")).isInstanceOf(Result.Limited.class);
        }

        time.advance(Duration.ofSeconds(12));
        assertThat(authenticator.authenticate(RIGHT, "198.51.100.1")).isInstanceOf(Result.Authenticated.class);
    }

    @Test
    void unknownUsersCountLikeWrongPasswords() {
        fail("mallory", "198.51.100.1", 5);

        assertThat(attempt("mallory:wrong", "198.51.100.1")).isInstanceOf(Result.Limited.class);
    }

    @Test
    void sprayingManyAccountsFromOneAddressIsLimitedByTheAddressBudget() {
        for (int i = 0; i < 10; i++) {
            fail("user" + i, "198.51.100.1", 1);
        }

        // The address budget is spent: an account that has failed gets no more checks from it...
        assertThat(attempt("user0:again", "198.51.100.1")).isInstanceOf(Result.Limited.class);
        // ...and one that has not gets exactly one.
        assertThat(attempt("user10:wrong", "198.51.100.1")).isInstanceOf(Result.Invalid.class);
        assertThat(attempt("user10:wrong", "198.51.100.1")).isInstanceOf(Result.Limited.class);
        assertThat(authenticator.authenticate(RIGHT, "198.51.100.2")).isInstanceOf(Result.Authenticated.class);
    }

    @Test
    void attackerOnOneAddressDoesNotLockOutTheAccountElsewhere() {
        fail("alice", "198.51.100.1", 5);
        assertThat(attempt("alice:wrong", "198.51.100.1")).isInstanceOf(Result.Limited.class);

        assertThat(authenticator.authenticate(RIGHT, "203.0.113.7")).isEqualTo(new Result.Authenticated(Principal.of("alice")));
    }

    @Test
    void distributedAttackSpendsTheAccountBudgetButAFreshAddressStillGetsIn() {
        for (int a = 0; a < 20; a++) {
            fail("alice", "198.51.100." + a, 1);
        }

        // 20 failures for alice: every attacking address is held to the account budget.
        for (int a = 0; a < 20; a++) {
            assertThat(attempt("alice:guess", "198.51.100." + a)).isInstanceOf(Result.Limited.class);
        }
        assertThat(authenticator.authenticate(RIGHT, "198.51.100.3")).isInstanceOf(Result.Limited.class);
        // A client that has not failed for alice is not.
        assertThat(authenticator.authenticate(RIGHT, "203.0.113.7")).isInstanceOf(Result.Authenticated.class);
        // Nor is an attacking address for another account.
        assertThat(attempt("bob:b0b", "198.51.100.3")).isInstanceOf(Result.Authenticated.class);
    }

    @Test
    void addressThatFailsDuringADistributedAttackIsHeldToTheAccountBudget() {
        for (int a = 0; a < 10; a++) {
            fail("alice", "198.51.100." + a, 2);
        }

        fail("alice", "203.0.113.7", 1);

        assertThat(authenticator.authenticate(RIGHT, "203.0.113.7")).isInstanceOf(Result.Limited.class);
        assertThat(authenticator.authenticate(RIGHT, "203.0.113.8")).isInstanceOf(Result.Authenticated.class);
    }

    @Test
    void accountBudgetStopsApplyingOnceTheAddressFailuresAreForgotten() {
        for (int a = 0; a < 10; a++) {
            fail("alice", "198.51.100." + a, 2);
        }
        fail("alice", "203.0.113.7", 1);
        assertThat(authenticator.authenticate(RIGHT, "203.0.113.7")).isInstanceOf(Result.Limited.class);

        // Keep the account budget spent while time passes, from addresses that have not failed before.
        for (int minute = 1; minute <= 15; minute++) {
            time.advance(Duration.ofMinutes(1));
            for (int a = 0; a < 20; a++) {
                fail("alice", "10." + minute + ".0." + a, 1);
            }
            Result result = authenticator.authenticate(RIGHT, "203.0.113.7");
            if (minute < 15) {
                assertThat(result).as("minute %d", minute).isInstanceOf(Result.Limited.class);
            } else {
                assertThat(result).as("minute %d", minute).isInstanceOf(Result.Authenticated.class);
            }
        }
    }

    @Test
    void accountBudgetCoolsDown() {
        for (int a = 0; a < 10; a++) {
            fail("alice", "198.51.100." + a, 2);
        }
        fail("alice", "203.0.113.7", 1);
        assertThat(authenticator.authenticate(RIGHT, "203.0.113.7")).isInstanceOf(Result.Limited.class);

        time.advance(Duration.ofMinutes(1));

        assertThat(authenticator.authenticate(RIGHT, "203.0.113.7")).isInstanceOf(Result.Authenticated.class);
    }

    @Test
    void successForgetsTheAddressFailuresForTheAccount() {
        fail("alice", "198.51.100.1", 4);
        assertThat(authenticator.authenticate(RIGHT, "198.51.100.1")).isInstanceOf(Result.Authenticated.class);

        fail("alice", "198.51.100.1", 5);
        assertThat(attempt("alice:wrong", "198.51.100.1")).isInstanceOf(Result.Limited.class);
    }

    @Test
    void successDoesNotResetTheAddressBudget() {
        // An attacker who owns one account cannot log in with it between guesses to reset their address.
        for (int i = 0; i < 9; i++) {
            fail("user" + i, "198.51.100.1", 1);
        }
        assertThat(attempt("bob:b0b", "198.51.100.1")).isInstanceOf(Result.Authenticated.class);
        fail("user9", "198.51.100.1", 1);

        assertThat(attempt("user0:again", "198.51.100.1")).isInstanceOf(Result.Limited.class);
    }

    @Test
    void unicodeAccountsHaveTheirOwnBudget() {
        fail("jürgen", "198.51.100.1", 5);

        assertThat(attempt("jürgen:pässwörd", "198.51.100.1")).isInstanceOf(Result.Limited.class);
        assertThat(attempt("jurgen:wrong", "198.51.100.1")).isInstanceOf(Result.Invalid.class);
        assertThat(attempt("jürgen:pässwörd", "198.51.100.2")).isEqualTo(new Result.Authenticated(Principal.of("jürgen")));
    }

    @Test
    void ipv6AddressesCountByTheirSlash64() {
        fail("alice", "2001:db8:1:2::1", 3);
        fail("alice", "2001:0db8:0001:0002:ffff:ffff:ffff:ffff", 2);

        assertThat(authenticator.authenticate(RIGHT, "2001:db8:1:2::abcd")).isInstanceOf(Result.Limited.class);
        assertThat(authenticator.authenticate(RIGHT, "[2001:db8:1:2::1]")).isInstanceOf(Result.Limited.class);
        assertThat(authenticator.authenticate(RIGHT, "2001:db8:1:3::1")).isInstanceOf(Result.Authenticated.class);
    }

    @Test
    void ipv4MappedIpv6AddressCountsAsItsIpv4Address() {
        fail("alice", "198.51.100.1", 5);

        assertThat(authenticator.authenticate(RIGHT, "::ffff:198.51.100.1")).isInstanceOf(Result.Limited.class);
    }

    @Test
    void portIsIgnoredIfTheServerPassesOne() {
        fail("alice", "198.51.100.1:40001", 5);

        assertThat(authenticator.authenticate(RIGHT, "198.51.100.1:40002")).isInstanceOf(Result.Limited.class);
        assertThat(authenticator.authenticate(RIGHT, "[2001:db8::1]:443")).isInstanceOf(Result.Authenticated.class);
    }

    @Test
    void hostileAddressAndAccountStringsAreJustKeys() {
        String[] addresses = {"", ":", "::", "not-an-address", "a:b:c", ".:1:2", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9",
                "x".repeat(10_000), "\u0000\n\r", "[", "[]", "localhost", "::1:"};
        for (String address : addresses) {
            assertThat(authenticator.authenticate(RIGHT, address)).as(address).isInstanceOf(Result.Authenticated.class);
        }
        String longUser = "u".repeat(5_000);
        fail(longUser, "198.51.100.1", 5);
        assertThat(attempt(longUser + ":x", "198.51.100.1")).isInstanceOf(Result.Limited.class);
    }

    // Behind an Ingress every client has the ingress pod's address: budgets kept by that address must not refuse
    // the right password for an account that is not under attack.

    @Test
    void randomUserNamesFromASharedAddressDoNotLockOutOtherAccounts() {
        for (int i = 0; i < 11; i++) {
            attempt("random" + i + ":wrong", INGRESS);
        }

        assertThat(attempt("cluster:c1uster", INGRESS)).isEqualTo(new Result.Authenticated(Principal.of("cluster")));
        assertThat(attempt("admin:adm1n", INGRESS)).isEqualTo(new Result.Authenticated(Principal.of("admin")));
    }

    @Test
    void aBadLoginEveryFiveSecondsFromASharedAddressRefusesNoRightLogin() {
        for (int i = 0; i < 11; i++) {
            attempt("random" + i + ":wrong", INGRESS);
        }

        // The right logins come at every second of the 5-second beat.
        for (int i = 0; i < 12; i++) {
            attempt("steady" + i + ":wrong", INGRESS);
            time.advance(Duration.ofSeconds(i % 5));
            String login = i % 2 == 0 ? "cluster:c1uster" : "admin:adm1n";
            assertThat(attempt(login, INGRESS)).as("login %d", i).isInstanceOf(Result.Authenticated.class);
            time.advance(Duration.ofSeconds(5 - i % 5));
        }
    }

    @Test
    void aCachedLoginIsNotRefusedBecauseOthersFailedFromItsAddress() {
        assertThat(attempt("cluster:c1uster", INGRESS)).isInstanceOf(Result.Authenticated.class);
        for (int i = 0; i < 30; i++) {
            attempt("random" + i + ":wrong", INGRESS);
        }

        assertThat(attempt("cluster:c1uster", INGRESS)).isInstanceOf(Result.Authenticated.class);
    }

    @Test
    void guesserOnASharedAddressIsStillHeldToTheBudgetsOfTheAccountItAttacks() {
        for (int i = 0; i < 10; i++) {
            fail("random" + i, INGRESS, 1);
        }

        assertThat(attempt("alice:guess", INGRESS)).isInstanceOf(Result.Invalid.class);
        assertThat(attempt("alice:guess", INGRESS)).isInstanceOf(Result.Limited.class);
        assertThat(authenticator.authenticate(RIGHT, INGRESS)).isInstanceOf(Result.Limited.class);
        assertThat(attempt("bob:b0b", INGRESS)).isInstanceOf(Result.Authenticated.class);

        // One guess a second for ten minutes: the budgets hold, 5 at once and then 5 a minute at most.
        int checked = 0;
        for (int s = 0; s < 600; s++) {
            time.advance(Duration.ofSeconds(1));
            if (attempt("alice:guess" + s, INGRESS) instanceof Result.Invalid) {
                checked++;
            }
        }
        assertThat(checked).isBetween(40, 5 + 10 * 5);
    }

    @Test
    void sprayerOnASharedAddressGetsOneCheckPerAccountPerFailingAddressMemory() {
        for (int i = 0; i < 10; i++) {
            fail("random" + i, INGRESS, 1);
        }
        List<String> accounts = List.of("alice", "bob", "jürgen", "nobody", "x".repeat(500));
        Map<String, Integer> checks = new HashMap<>();

        // For 30 minutes, a new user name and a guess for each account every 5 seconds.
        for (int tick = 0; tick < 360; tick++) {
            assertThat(attempt("fresh" + tick + ":wrong", INGRESS)).as("fresh name %d", tick).isInstanceOf(Result.Invalid.class);
            for (String account : accounts) {
                Result result = attempt(account + ":guess" + tick, INGRESS);
                assertThat(result).isInstanceOfAny(Result.Invalid.class, Result.Limited.class);
                if (result instanceof Result.Invalid) {
                    checks.merge(account, 1, Integer::sum);
                }
            }
            time.advance(Duration.ofSeconds(5));
        }

        // At 0:00 and 15:00; the new names keep the address budget spent all the time.
        for (String account : accounts) {
            assertThat(checks.get(account)).as(account).isEqualTo(2);
        }
    }

    @Test
    void concurrentGuessesForOneAccountBeyondASpentAddressBudgetGetOneCheck() throws Exception {
        // A slow hash and a check for each guess at once, so that the guesses overlap.
        Htpasswd slow = Htpasswd.load(HtpasswdFiles.writeText(dir.resolve("slow"), "alice:" + HtpasswdFiles.hash("2y", "s3cret", 10) + "\n"), time);
        BasicAuthenticator roomy = BasicAuthenticator.builder(slow).ticker(time).concurrentPasswordChecks(20, Duration.ofMinutes(1)).build();
        for (int i = 0; i < 10; i++) {
            assertThat(roomy.authenticate(basic("random" + i + ":wrong"), INGRESS)).isInstanceOf(Result.Invalid.class);
        }
        List<Callable<Result>> guesses = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            String header = basic("alice:guess" + i);
            guesses.add(() -> roomy.authenticate(header, INGRESS));
        }

        List<Result> results = runTogether(guesses);

        assertThat(results).filteredOn(r -> r instanceof Result.Invalid).hasSize(1);
        assertThat(results).filteredOn(r -> r instanceof Result.Limited).hasSize(19);
    }

    @Test
    void withNoFailingAddressMemoryAnAccountStaysUnderAttackWhileTheAddressBudgetRefills() {
        BasicAuthenticator forgetful = BasicAuthenticator.builder(htpasswd).ticker(time).failingAddressMemory(Duration.ZERO).build();
        for (int i = 0; i < 10; i++) {
            assertThat(forgetful.authenticate(basic("random" + i + ":wrong"), INGRESS)).isInstanceOf(Result.Invalid.class);
        }

        assertThat(forgetful.authenticate(basic("alice:guess1"), INGRESS)).isInstanceOf(Result.Invalid.class);
        assertThat(forgetful.authenticate(basic("alice:guess2"), INGRESS)).isInstanceOf(Result.Limited.class);
    }

    @Test
    void unknownUserAndWrongPasswordGetTheSameAnswersFromASpentAddress() {
        for (int i = 0; i < 10; i++) {
            fail("random" + i, INGRESS, 1);
        }

        Result wrongPassword = attempt("alice:wrong", INGRESS);
        Result unknownUser = attempt("mallory:wrong", INGRESS);
        assertThat(wrongPassword).isEqualTo(new Result.Invalid(BasicAuthenticator.WRONG_CREDENTIALS));
        assertThat(unknownUser).isEqualTo(wrongPassword);

        Result wrongPasswordAgain = attempt("alice:wrong", INGRESS);
        Result unknownUserAgain = attempt("mallory:wrong", INGRESS);
        assertThat(wrongPasswordAgain).isInstanceOf(Result.Limited.class);
        assertThat(unknownUserAgain).isEqualTo(wrongPasswordAgain);
    }

    @Test
    void concurrentBadAndGoodLoginsOnASharedAddressNeverRefuseAnUntouchedAccount() throws Exception {
        String hash = HtpasswdFiles.hash("right");
        StringBuilder file = new StringBuilder(HtpasswdFiles.line("alice", "s3cret"));
        for (int i = 0; i < 8; i++) {
            file.append("good").append(i).append(':').append(hash).append('\n');
        }
        // No cache, so that every good login runs bcrypt; a long wait for a check, so that only budgets refuse.
        BasicAuthenticator shared = BasicAuthenticator.builder(Htpasswd.load(HtpasswdFiles.writeText(dir.resolve("many"), file.toString()), time))
                .ticker(time).cacheTtl(Duration.ZERO).concurrentPasswordChecks(2, Duration.ofMinutes(1)).build();
        for (int i = 0; i < 10; i++) {
            assertThat(shared.authenticate(basic("spent" + i + ":wrong"), INGRESS)).isInstanceOf(Result.Invalid.class);
        }
        List<Callable<List<Result>>> clients = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            String good = basic("good" + t + ":right");
            int attacker = t;
            clients.add(() -> repeat(20, i -> shared.authenticate(good, INGRESS)));
            clients.add(() -> repeat(20, i -> shared.authenticate(basic(switch (i % 3) {
                case 0 -> "alice:guess" + i;
                case 1 -> "good" + attacker + "x:right";
                default -> "random" + attacker + "-" + i + ":wrong";
            }), INGRESS)));
        }

        List<List<Result>> results = runTogether(clients);

        for (int t = 0; t < 8; t++) {
            assertThat(results.get(2 * t)).as("good%d", t).containsOnly(new Result.Authenticated(Principal.of("good" + t)));
            assertThat(results.get(2 * t + 1)).as("attacker %d", t).doesNotHaveAnyElementsOfTypes(Result.Authenticated.class);
        }
    }

    @Test
    void attemptsThatFindEveryPasswordCheckBusyAreLimitedForASecondAndNotCounted() throws Exception {
        String hash = HtpasswdFiles.hash("2y", "right", 10);
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            file.append('u').append(i).append(':').append(hash).append('\n');
        }
        BasicAuthenticator oneAtATime = BasicAuthenticator.builder(Htpasswd.load(HtpasswdFiles.writeText(dir.resolve("busy"), file.toString()), time))
                .ticker(time).concurrentPasswordChecks(1, Duration.ZERO).build();
        List<Callable<Result>> guesses = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            String header = basic("u" + i + ":wrong");
            guesses.add(() -> oneAtATime.authenticate(header, INGRESS));
        }

        List<Result> results = runTogether(guesses);

        assertThat(results).containsOnly(new Result.Invalid(BasicAuthenticator.WRONG_CREDENTIALS), new Result.Limited(Duration.ofSeconds(1)))
                .contains(new Result.Invalid(BasicAuthenticator.WRONG_CREDENTIALS), new Result.Limited(Duration.ofSeconds(1)));
        // With the address budget spent, only the accounts whose guess was checked are under attack.
        for (int i = 0; i < 10; i++) {
            assertThat(oneAtATime.authenticate(basic("spent" + i + ":wrong"), INGRESS)).isInstanceOf(Result.Invalid.class);
        }
        for (int i = 0; i < 16; i++) {
            Result right = oneAtATime.authenticate(basic("u" + i + ":right"), INGRESS);
            assertThat(right).as("u%d after %s", i, results.get(i))
                    .isInstanceOf(results.get(i) instanceof Result.Invalid ? Result.Limited.class : Result.Authenticated.class);
        }
    }

    @Test
    void anAttemptInterruptedWhileWaitingForAPasswordCheckIsLimitedAndNotCounted() {
        for (int i = 0; i < 10; i++) {
            fail("random" + i, INGRESS, 1);
        }

        assertThat(interrupted(() -> attempt("alice:wrong", "198.51.100.1"))).isEqualTo(new Result.Limited(Duration.ofSeconds(1)));
        assertThat(interrupted(() -> attempt("cluster:wrong", INGRESS))).isEqualTo(new Result.Limited(Duration.ofSeconds(1)));

        // alice still has all five failures at the address; cluster is not under attack and gets in.
        fail("alice", "198.51.100.1", 5);
        assertThat(attempt("alice:wrong", "198.51.100.1")).isInstanceOf(Result.Limited.class);
        assertThat(attempt("cluster:c1uster", INGRESS)).isInstanceOf(Result.Authenticated.class);
    }

    private static Result interrupted(Supplier<Result> attempt) {
        Thread.currentThread().interrupt();
        try {
            return attempt.get();
        } finally {
            assertThat(Thread.interrupted()).as("the interrupt is kept").isTrue();
        }
    }

    @Test
    void customBudgetsApply() {
        BasicAuthenticator strict = BasicAuthenticator.builder(htpasswd).ticker(time)
                .failuresPerAddressAndAccount(2, Duration.ofMinutes(10))
                .build();
        for (int i = 0; i < 2; i++) {
            assertThat(strict.authenticate(basic("alice:wrong"), "198.51.100.1")).isInstanceOf(Result.Invalid.class);
        }

        assertThat(strict.authenticate(RIGHT, "198.51.100.1")).isEqualTo(new Result.Limited(Duration.ofMinutes(5)));
    }

    @Test
    void concurrentWrongGuessesCannotOverrunTheBudget() throws Exception {
        List<Callable<Result>> guesses = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            String header = basic("alice:guess" + i);
            guesses.add(() -> authenticator.authenticate(header, "198.51.100.1"));
        }

        List<Result> results = runTogether(guesses);

        assertThat(results).filteredOn(r -> r instanceof Result.Invalid).hasSize(5);
        assertThat(results).filteredOn(r -> r instanceof Result.Limited).hasSize(35);
    }

    @Test
    void concurrentLoginsWithTheSameRightCredentialsAreNotLimited() throws Exception {
        // A node pulling many images at once right after a restart: every pull logs in with the same secret.
        Htpasswd slow = Htpasswd.load(HtpasswdFiles.writeText(dir.resolve("slow"), "alice:" + HtpasswdFiles.hash("2y", "s3cret", 9) + "\n"), time);
        BasicAuthenticator cold = BasicAuthenticator.builder(slow).ticker(time).build();
        List<Callable<Result>> logins = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            logins.add(() -> cold.authenticate(RIGHT, "198.51.100.1"));
        }

        List<Result> results = runTogether(logins);

        assertThat(results).containsOnly(new Result.Authenticated(Principal.of("alice")));
    }

    private static List<Result> repeat(int times, IntFunction<Result> attempt) {
        List<Result> results = new ArrayList<>();
        for (int i = 0; i < times; i++) {
            results.add(attempt.apply(i));
        }
        return results;
    }

    private static <T> List<T> runTogether(List<Callable<T>> tasks) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(tasks.size());
        try {
            CountDownLatch ready = new CountDownLatch(tasks.size());
            CountDownLatch go = new CountDownLatch(1);
            List<Future<T>> futures = new ArrayList<>();
            for (Callable<T> task : tasks) {
                futures.add(pool.submit(() -> {
                    ready.countDown();
                    go.await();
                    return task.call();
                }));
            }
            ready.await();
            go.countDown();
            List<T> results = new ArrayList<>();
            for (Future<T> f : futures) {
                results.add(f.get());
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }
}
