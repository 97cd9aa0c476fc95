package io.berth.auth;

import io.berth.testing.HtpasswdFiles;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.auth.BasicAuthenticator.Result;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BasicAuthenticatorTest {
    private static final String ADDRESS = "192.0.2.10";

    @TempDir
    Path dir;

    private final FakeTime time = new FakeTime();
    private Htpasswd htpasswd;
    private BasicAuthenticator authenticator;

    @BeforeEach
    void setUp() throws IOException {
        htpasswd = Htpasswd.load(HtpasswdFiles.writeText(dir.resolve("htpasswd"), HtpasswdFiles.line("alice", "s3cret")
                + HtpasswdFiles.line("jürgen", "pässwörd") + HtpasswdFiles.line("bob", "pa:ss:word")), time);
        authenticator = BasicAuthenticator.builder(htpasswd).ticker(time).build();
    }

    static String basic(String userColonPassword) {
        return "Basic " + Base64.getEncoder().encodeToString(userColonPassword.getBytes(StandardCharsets.UTF_8));
    }

    static String basic(byte[] raw) {
        return "Basic " + Base64.getEncoder().encodeToString(raw);
    }

    @Test
    void rightPasswordAuthenticatesTheUser() {
        assertThat(authenticator.authenticate(basic("alice:s3cret"), ADDRESS))
                .isEqualTo(new Result.Authenticated(Principal.of("alice")));
    }

    @Test
    void unicodeUserNameAuthenticates() {
        assertThat(authenticator.authenticate(basic("jürgen:pässwörd"), ADDRESS))
                .isEqualTo(new Result.Authenticated(Principal.of("jürgen")));
    }

    @Test
    void passwordMayContainColonsSinceTheUserEndsAtTheFirst() {
        assertThat(authenticator.authenticate(basic("bob:pa:ss:word"), ADDRESS))
                .isEqualTo(new Result.Authenticated(Principal.of("bob")));
    }

    @Test
    void noHeaderIsAnonymous() {
        assertThat(authenticator.authenticate(null, ADDRESS)).isInstanceOf(Result.Anonymous.class);
    }

    @Test
    void wrongPasswordAndUnknownUserGetTheSameAnswer() {
        Result wrongPassword = authenticator.authenticate(basic("alice:nope"), ADDRESS);
        Result unknownUser = authenticator.authenticate(basic("mallory:s3cret"), "192.0.2.11");

        assertThat(wrongPassword).isInstanceOf(Result.Invalid.class);
        assertThat(unknownUser).isEqualTo(wrongPassword);
    }

    @Test
    void schemeIsCaseInsensitiveAndSurroundingBlanksAreAllowed() {
        String token = basic("alice:s3cret").substring("Basic ".length());

        assertThat(authenticator.authenticate("basic " + token, ADDRESS)).isInstanceOf(Result.Authenticated.class);
        assertThat(authenticator.authenticate("  BASIC \t " + token + "  ", ADDRESS)).isInstanceOf(Result.Authenticated.class);
    }

    @Test
    void base64WithoutPaddingIsAccepted() {
        String token = Base64.getEncoder().withoutPadding().encodeToString("alice:s3cret".getBytes(StandardCharsets.UTF_8));

        assertThat(authenticator.authenticate("Basic " + token, ADDRESS)).isInstanceOf(Result.Authenticated.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "Basic", "Basic ", "Bearer abc.def.ghi", "Digest username=\"alice\"", "Basicc YWxpY2U6czNjcmV0",
            "Basic YWxpY2U6czNjcmV0 extra", "Basic !!!!", "Basic YWxpY2U6czNjcmV0===", "Basic YWxp\nY2U6czNjcmV0",
            "Basic YWxpY2U6czNjcmV0-_", "Basic \u00e9\u00e9\u00e9\u00e9", "Basic =", "Basic YQ=a"})
    void malformedHeaderIsInvalid(String header) {
        assertThat(authenticator.authenticate(header, ADDRESS))
                .isInstanceOf(Result.Invalid.class)
                .isNotEqualTo(new Result.Invalid(BasicAuthenticator.WRONG_CREDENTIALS));
    }

    @Test
    void credentialsWithoutColonAreInvalid() {
        assertThat(authenticator.authenticate(basic("alices3cret"), ADDRESS))
                .isEqualTo(new Result.Invalid("the Basic credentials have no ':' between user and password"));
    }

    @Test
    void emptyUserIsInvalid() {
        assertThat(authenticator.authenticate(basic(":s3cret"), ADDRESS)).isEqualTo(new Result.Invalid("the user name is empty"));
    }

    @Test
    void userNameThatIsNotUtf8IsInvalid() {
        byte[] latin1 = "j\u00fcrgen:p\u00e4ssw\u00f6rd".getBytes(StandardCharsets.ISO_8859_1);

        assertThat(authenticator.authenticate(basic(latin1), ADDRESS))
                .isEqualTo(new Result.Invalid("the Basic credentials are not UTF-8"));
    }

    @Test
    void passwordThatIsNotUtf8IsInvalid() {
        byte[] raw = {'a', 'l', 'i', 'c', 'e', ':', (byte) 0xC3, (byte) 0x28};

        assertThat(authenticator.authenticate(basic(raw), ADDRESS))
                .isEqualTo(new Result.Invalid("the Basic credentials are not UTF-8"));
    }

    @Test
    void userNameWithNulOrControlCharactersIsInvalid() {
        assertThat(authenticator.authenticate(basic("alice\u0000x:s3cret"), ADDRESS))
                .isEqualTo(new Result.Invalid("the user name has control characters"));
        assertThat(authenticator.authenticate(basic("alice\n:s3cret"), ADDRESS))
                .isEqualTo(new Result.Invalid("the user name has control characters"));
    }

    @Test
    void headerOver8KiBIsInvalidWithoutBeingDecoded() {
        String header = basic("alice:" + "x".repeat(7000));
        assertThat(header.length()).isGreaterThan(8192);

        assertThat(authenticator.authenticate(header, ADDRESS))
                .isEqualTo(new Result.Invalid("the Authorization header is longer than 8192 characters"));
    }

    @Test
    void headerOfExactly8KiBIsDecoded() {
        String token = basic("alice:s3cret").substring("Basic ".length());
        String header = "Basic" + " ".repeat(8192 - "Basic".length() - token.length()) + token;
        assertThat(header).hasSize(8192);

        assertThat(authenticator.authenticate(header, ADDRESS)).isInstanceOf(Result.Authenticated.class);
    }

    @Test
    void malformedHeadersAreNotCountedAgainstTheAddress() {
        for (int i = 0; i < 100; i++) {
            assertThat(authenticator.authenticate("Basic !!!", ADDRESS)).isInstanceOf(Result.Invalid.class);
        }

        assertThat(authenticator.authenticate(basic("alice:s3cret"), ADDRESS)).isInstanceOf(Result.Authenticated.class);
    }

    @Test
    void invalidReasonNeverEchoesThePassword() {
        Result result = authenticator.authenticate(basic("alice:hunter2"), ADDRESS);

        assertThat(result).isInstanceOfSatisfying(Result.Invalid.class, r -> assertThat(r.reason()).doesNotContain("hunter2"));
    }

    @Test
    void cachedLoginIsForgottenWhenThePasswordChanges() throws IOException {
        assertThat(authenticator.authenticate(basic("alice:s3cret"), ADDRESS)).isInstanceOf(Result.Authenticated.class);

        HtpasswdFiles.writeText(htpasswd.file(), HtpasswdFiles.line("alice", "n3w") + HtpasswdFiles.line("carol", "c"));
        time.advance(Duration.ofSeconds(1));

        assertThat(authenticator.authenticate(basic("alice:s3cret"), ADDRESS)).isInstanceOf(Result.Invalid.class);
        assertThat(authenticator.authenticate(basic("alice:n3w"), ADDRESS)).isInstanceOf(Result.Authenticated.class);
        assertThat(authenticator.authenticate(basic("carol:c"), ADDRESS)).isInstanceOf(Result.Authenticated.class);
    }

    @Test
    void cachedLoginIsForgottenWhenTheUserIsRemoved() throws IOException {
        assertThat(authenticator.authenticate(basic("alice:s3cret"), ADDRESS)).isInstanceOf(Result.Authenticated.class);

        HtpasswdFiles.writeText(htpasswd.file(), HtpasswdFiles.line("bob", "b"));
        time.advance(Duration.ofSeconds(1));

        assertThat(authenticator.authenticate(basic("alice:s3cret"), ADDRESS)).isInstanceOf(Result.Invalid.class);
    }

    @Test
    void cachedLoginDoesNotRunBcryptAgain() throws IOException {
        Htpasswd slow = Htpasswd.load(HtpasswdFiles.writeText(dir.resolve("slow"), "alice:" + HtpasswdFiles.hash("2y", "s3cret", 12) + "\n"), time);
        BasicAuthenticator cached = BasicAuthenticator.builder(slow).ticker(time).build();
        String header = basic("alice:s3cret");

        long miss = nanos(() -> assertThat(cached.authenticate(header, ADDRESS)).isInstanceOf(Result.Authenticated.class));
        long hits = nanos(() -> {
            for (int i = 0; i < 20; i++) {
                assertThat(cached.authenticate(header, ADDRESS)).isInstanceOf(Result.Authenticated.class);
            }
        });

        // One cost-12 bcrypt run takes a few hundred milliseconds; twenty cache hits take well under one.
        assertThat(hits).isLessThan(miss / 4);
    }

    @Test
    void cachedLoginExpiresAfterItsTtl() throws IOException {
        Htpasswd slow = Htpasswd.load(HtpasswdFiles.writeText(dir.resolve("slow"), "alice:" + HtpasswdFiles.hash("2y", "s3cret", 12) + "\n"), time);
        BasicAuthenticator cached = BasicAuthenticator.builder(slow).ticker(time).cacheTtl(Duration.ofMinutes(1)).build();
        String header = basic("alice:s3cret");
        long miss = nanos(() -> cached.authenticate(header, ADDRESS));

        time.advance(Duration.ofSeconds(59));
        long hit = nanos(() -> cached.authenticate(header, ADDRESS));
        time.advance(Duration.ofSeconds(1));
        long expired = nanos(() -> assertThat(cached.authenticate(header, ADDRESS)).isInstanceOf(Result.Authenticated.class));

        assertThat(hit).isLessThan(miss / 4);
        assertThat(expired).isGreaterThan(hit * 4).isGreaterThan(miss / 4);
    }

    @Test
    void cacheIsKeyedByPasswordTooSoAWrongPasswordIsNotAHit() {
        assertThat(authenticator.authenticate(basic("alice:s3cret"), ADDRESS)).isInstanceOf(Result.Authenticated.class);

        assertThat(authenticator.authenticate(basic("alice:s3cret "), ADDRESS)).isInstanceOf(Result.Invalid.class);
        assertThat(authenticator.authenticate(basic("alice:S3cret"), ADDRESS)).isInstanceOf(Result.Invalid.class);
    }

    @Test
    void builderRefusesNonsense() {
        BasicAuthenticator.Builder builder = BasicAuthenticator.builder(htpasswd);

        assertThatThrownBy(() -> builder.cacheTtl(Duration.ofSeconds(-1))).hasMessageContaining("cacheTtl");
        assertThatThrownBy(() -> builder.failuresPerAddress(0, Duration.ofMinutes(1)))
                .hasMessageContaining("failuresPerAddress").hasMessageContaining("at least 1");
        assertThatThrownBy(() -> builder.failuresPerAccount(5, Duration.ZERO))
                .hasMessageContaining("failuresPerAccount").hasMessageContaining("positive period");
        assertThatThrownBy(() -> builder.failuresPerAddressAndAccount(5, Duration.ofSeconds(-5)))
                .hasMessageContaining("failuresPerAddressAndAccount");
        assertThatThrownBy(() -> builder.failingAddressMemory(Duration.ofSeconds(-1))).hasMessageContaining("failingAddressMemory");
        assertThatThrownBy(() -> builder.maximumEntries(0)).hasMessageContaining("maximumEntries");
        assertThatThrownBy(() -> builder.concurrentPasswordChecks(0, Duration.ofSeconds(1))).hasMessageContaining("concurrentPasswordChecks");
        assertThatThrownBy(() -> builder.concurrentPasswordChecks(2, Duration.ofSeconds(-1))).hasMessageContaining("concurrentPasswordChecks");
    }

    private static long nanos(Runnable action) {
        long start = System.nanoTime();
        action.run();
        return System.nanoTime() - start;
    }
}
