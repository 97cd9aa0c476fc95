package io.berth.auth;

import static io.berth.auth.BasicAuthenticatorTest.basic;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.auth.BasicAuthenticator.Result;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The failure budgets: an attacker slows only themselves. Defaults: 10/min per address, 5 per address+account, 20 per account. */
class BasicAuthenticatorLimitTest {
    private static final String RIGHT = basic("alice:s3cret");

    @TempDir
    Path dir;

    private final FakeTime time = new FakeTime();
    private Htpasswd htpasswd;
    private BasicAuthenticator authenticator;

    @BeforeEach
    void setUp() throws IOException {
        htpasswd = Htpasswd.load(Bcrypt.write(dir.resolve("htpasswd"), Bcrypt.line("alice", "s3cret")
                + Bcrypt.line("bob", "b0b") + Bcrypt.line("jürgen", "pässwörd")), time);
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

        assertThat(attempt("user10:wrong", "198.51.100.1")).isInstanceOf(Result.Limited.class);
        assertThat(authenticator.authenticate(RIGHT, "198.51.100.1")).isInstanceOf(Result.Limited.class);
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

        assertThat(attempt("user10:wrong", "198.51.100.1")).isInstanceOf(Result.Limited.class);
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
        Htpasswd slow = Htpasswd.load(Bcrypt.write(dir.resolve("slow"), "alice:" + Bcrypt.hash("2y", "s3cret", 9) + "\n"), time);
        BasicAuthenticator cold = BasicAuthenticator.builder(slow).ticker(time).build();
        List<Callable<Result>> logins = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            logins.add(() -> cold.authenticate(RIGHT, "198.51.100.1"));
        }

        List<Result> results = runTogether(logins);

        assertThat(results).containsOnly(new Result.Authenticated(Principal.of("alice")));
    }

    private static List<Result> runTogether(List<Callable<Result>> tasks) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(tasks.size());
        try {
            CountDownLatch ready = new CountDownLatch(tasks.size());
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Result>> futures = new ArrayList<>();
            for (Callable<Result> task : tasks) {
                futures.add(pool.submit(() -> {
                    ready.countDown();
                    go.await();
                    return task.call();
                }));
            }
            ready.await();
            go.countDown();
            List<Result> results = new ArrayList<>();
            for (Future<Result> f : futures) {
                results.add(f.get());
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }
}
