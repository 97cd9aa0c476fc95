package io.berth.auth;

import io.berth.testing.HtpasswdFiles;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HtpasswdTest {
    @TempDir
    Path dir;

    private final FakeTime time = new FakeTime();

    private Htpasswd load(String content) throws IOException {
        return Htpasswd.load(HtpasswdFiles.writeText(dir.resolve("htpasswd"), content), time);
    }

    @ParameterizedTest
    @ValueSource(strings = {"2y", "2a", "2b"})
    void verifiesEveryBcryptVersionThatHtpasswdWrites(String version) throws IOException {
        Htpasswd htpasswd = load("alice:" + HtpasswdFiles.hash(version, "s3cret", 4) + "\n");

        assertThat(htpasswd.verify("alice", "s3cret".toCharArray())).isTrue();
        assertThat(htpasswd.verify("alice", "s3cret!".toCharArray())).isFalse();
    }

    @Test
    void verifiesALineAsHtpasswdBWritesIt() throws IOException {
        String line = "alice:" + HtpasswdFiles.hash("2y", "s3cret", 5);

        assertThat(line).matches("alice:\\$2y\\$05\\$[./A-Za-z0-9]{53}");
        Htpasswd htpasswd = load(line + "\n");
        assertThat(htpasswd.verify("alice", "s3cret".toCharArray())).isTrue();
    }

    @Test
    void wrongPasswordIsRefused() throws IOException {
        Htpasswd htpasswd = load(HtpasswdFiles.line("alice", "s3cret"));

        assertThat(htpasswd.verify("alice", "S3cret".toCharArray())).isFalse();
        assertThat(htpasswd.verify("alice", new char[0])).isFalse();
    }

    @Test
    void unknownUserIsRefused() throws IOException {
        Htpasswd htpasswd = load(HtpasswdFiles.line("alice", "s3cret"));

        assertThat(htpasswd.verify("bob", "s3cret".toCharArray())).isFalse();
        assertThat(htpasswd.verify("Alice", "s3cret".toCharArray())).isFalse();
        assertThat(htpasswd.verify("", "s3cret".toCharArray())).isFalse();
    }

    @Test
    void unknownUserTakesAsLongAsAKnownOne() throws IOException {
        Htpasswd htpasswd = load("alice:" + HtpasswdFiles.hash("2y", "s3cret", 10) + "\n");
        htpasswd.verify("alice", "warm-up".toCharArray());

        long known = Long.MAX_VALUE;
        long unknown = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            long start = System.nanoTime();
            htpasswd.verify("alice", "wrong".toCharArray());
            known = Math.min(known, System.nanoTime() - start);
            start = System.nanoTime();
            htpasswd.verify("mallory", "wrong".toCharArray());
            unknown = Math.min(unknown, System.nanoTime() - start);
        }

        // Both run a cost-10 bcrypt; without the dummy hash an unknown user would answer in microseconds.
        assertThat(unknown).isGreaterThan(known / 4);
    }

    @Test
    void unknownUsersAreCheckedAgainstADummyHashOfTheFilesUsualCost() throws IOException {
        Htpasswd htpasswd = load("alice:" + HtpasswdFiles.hash("2y", "a", 6) + "\n" + "bob:" + HtpasswdFiles.hash("2y", "b", 6) + "\n"
                + "carol:" + HtpasswdFiles.hash("2y", "c", 4) + "\n");

        String dummy = htpasswd.current().dummyHash();

        assertThat(dummy).matches("\\$2y\\$06\\$[./A-Za-z0-9]{53}");
        assertThat(OpenBSDBCrypt.checkPassword(dummy, "a".getBytes(StandardCharsets.UTF_8))).isFalse();
        assertThat(OpenBSDBCrypt.checkPassword(dummy, new byte[0])).isFalse();
        assertThat(load("").current().dummyHash()).startsWith("$2y$05$");
    }

    @Test
    void theDummyHashIsMadeOncePerCostAndSharedByReloadsAndThreads() throws Exception {
        Htpasswd htpasswd = load(HtpasswdFiles.line("alice", "old"));
        HtpasswdEntries first = htpasswd.current();
        HtpasswdFiles.writeText(htpasswd.file(), HtpasswdFiles.line("alice", "new") + HtpasswdFiles.line("bob", "b"));
        time.advance(Duration.ofSeconds(1));
        HtpasswdEntries second = htpasswd.current();
        assertThat(second.generation()).isGreaterThan(first.generation());

        List<Callable<String>> callers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            callers.add((i % 2 == 0 ? first : second)::dummyHash);
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            Set<String> seen = new HashSet<>();
            for (Future<String> f : pool.invokeAll(callers)) {
                seen.add(f.get());
            }
            assertThat(seen).containsExactly(first.dummyHash());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void unicodeUserNamesAndPasswordsWork() throws IOException {
        Htpasswd htpasswd = load(HtpasswdFiles.line("jürgen", "pässwörd✓") + HtpasswdFiles.line("李小龍", "密码"));

        assertThat(htpasswd.verify("jürgen", "pässwörd✓".toCharArray())).isTrue();
        assertThat(htpasswd.verify("李小龍", "密码".toCharArray())).isTrue();
        assertThat(htpasswd.verify("jurgen", "pässwörd✓".toCharArray())).isFalse();
        assertThat(htpasswd.users()).containsExactlyInAnyOrder("jürgen", "李小龍");
    }

    @Test
    void onlyTheFirst72BytesOfAPasswordCountAsInEveryBcrypt() throws IOException {
        String long72 = "x".repeat(72);
        Htpasswd htpasswd = load("alice:" + HtpasswdFiles.hash("2y", long72, 4) + "\n");

        assertThat(htpasswd.verify("alice", (long72 + "anything").toCharArray())).isTrue();
        assertThat(htpasswd.verify("alice", "x".repeat(71).toCharArray())).isFalse();
    }

    @Test
    void skipsCommentsBlankLinesAndSurroundingBlanks() throws IOException {
        String content = "\uFEFF# accounts\r\n\r\n   \n  alice:" + HtpasswdFiles.hash("a") + "  \r\n\t# bob:nope\n  bob :"
                + HtpasswdFiles.hash("b") + "\r\n";

        Htpasswd htpasswd = load(content);

        assertThat(htpasswd.users()).containsExactly("alice", "bob");
        assertThat(htpasswd.verify("alice", "a".toCharArray())).isTrue();
        assertThat(htpasswd.verify("bob", "b".toCharArray())).isTrue();
    }

    @Test
    void emptyFileHasNoUsers() throws IOException {
        Htpasswd htpasswd = load("");

        assertThat(htpasswd.users()).isEmpty();
        assertThat(htpasswd.verify("alice", "a".toCharArray())).isFalse();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "bob:$apr1$Vj1ZnX1O$kLd0l8s3JHM8rYyS7XHbD/ | MD5 ($apr1$)",
        "bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g= | SHA-1 ({SHA})",
        "bob:$1$saltsalt$qjXMvbEw8oaL.CzflDugX/ | MD5-crypt ($1$)",
        "bob:$6$rounds=5000$salt$abc | SHA-crypt ($6$)",
        "bob:$5$salt$abc | SHA-crypt ($5$)",
        "bob:rqXexS6ZhobKA | crypt(3) or plain-text",
        "bob:plaintext | crypt(3) or plain-text",
        "bob: | no password hash",
        "bob:$2x$05$abcdefghijklmnopqrstuu5Hv8yo1V5Fn5.2o3h1vQGmHYkNH8r.a | $2x$",
        "bob:$2y$03$abcdefghijklmnopqrstuu5Hv8yo1V5Fn5.2o3h1vQGmHYkNH8r.a | malformed bcrypt",
        "bob:$2y$32$abcdefghijklmnopqrstuu5Hv8yo1V5Fn5.2o3h1vQGmHYkNH8r.a | malformed bcrypt",
        "bob:$2y$05$tooshort | malformed bcrypt",
        "bob:$2y$05$abcdefghijklmnopqrstuu5Hv8yo1V5Fn5.2o3h1vQGmHYkNH8r.!! | malformed bcrypt",
    })
    void otherHashFormatsAreRefusedNamingTheLine(String line, String kind) throws IOException {
        String content = "# first\n" + HtpasswdFiles.line("alice", "a") + line + "\n";

        assertThatThrownBy(() -> load(content))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("line 3")
                .hasMessageContaining("user \"bob\"")
                .hasMessageContaining(kind)
                .hasMessageContaining("bcrypt")
                .hasMessageContaining(dir.resolve("htpasswd").toString());
    }

    @Test
    void refusalDoesNotEchoTheHash() throws IOException {
        String hash = "$apr1$Vj1ZnX1O$kLd0l8s3JHM8rYyS7XHbD/";

        assertThatThrownBy(() -> load("bob:" + hash + "\n"))
                .isInstanceOf(IllegalArgumentException.class)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("Vj1ZnX1O"));
    }

    @Test
    void lineWithoutColonIsRefused() throws IOException {
        assertThatThrownBy(() -> load(HtpasswdFiles.line("alice", "a") + "bob\n"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("line 2")
                .hasMessageContaining("no ':'");
    }

    @Test
    void emptyUserIsRefused() throws IOException {
        assertThatThrownBy(() -> load("  :" + HtpasswdFiles.hash("a") + "\n"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("line 1")
                .hasMessageContaining("user name before ':' is empty");
    }

    @Test
    void repeatedUserIsRefusedNamingBothLines() throws IOException {
        String content = HtpasswdFiles.line("alice", "a") + HtpasswdFiles.line("bob", "b") + HtpasswdFiles.line("alice", "c");

        assertThatThrownBy(() -> load(content))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("line 3")
                .hasMessageContaining("already defined on line 1");
    }

    @Test
    void lineThatIsNotUtf8IsRefused() throws IOException {
        byte[] good = HtpasswdFiles.line("alice", "a").getBytes(StandardCharsets.UTF_8);
        byte[] bad = ("j\u00fcrgen:" + HtpasswdFiles.hash("b") + "\n").getBytes(StandardCharsets.ISO_8859_1);
        Path file = dir.resolve("htpasswd");
        Files.write(file, concat(good, bad));

        assertThatThrownBy(() -> Htpasswd.load(file, time))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("line 2")
                .hasMessageContaining("not valid UTF-8");
    }

    @Test
    void missingFileIsRefusedAtLoad() {
        assertThatThrownBy(() -> Htpasswd.load(dir.resolve("absent"), time)).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void fileLargerThan16MiBIsRefusedAtLoad() throws IOException {
        Path file = dir.resolve("htpasswd");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(Htpasswd.MAX_FILE_BYTES + 1L);
        }

        assertThatThrownBy(() -> Htpasswd.load(file, time)).isInstanceOf(IOException.class).hasMessageContaining("larger than");
    }

    @Test
    void changedFileIsReloadedOnceASecondHasPassed() throws IOException {
        Htpasswd htpasswd = load(HtpasswdFiles.line("alice", "old"));
        HtpasswdFiles.writeText(htpasswd.file(), HtpasswdFiles.line("alice", "new") + HtpasswdFiles.line("bob", "b"));

        time.advance(Duration.ofMillis(999));
        assertThat(htpasswd.verify("alice", "old".toCharArray())).isTrue();
        assertThat(htpasswd.verify("bob", "b".toCharArray())).isFalse();

        time.advance(Duration.ofMillis(1));
        assertThat(htpasswd.verify("alice", "new".toCharArray())).isTrue();
        assertThat(htpasswd.verify("alice", "old".toCharArray())).isFalse();
        assertThat(htpasswd.verify("bob", "b".toCharArray())).isTrue();
    }

    @Test
    void fileIsLookedAtNoMoreThanOnceASecond() throws IOException {
        Htpasswd htpasswd = load(HtpasswdFiles.line("alice", "old"));
        time.advance(Duration.ofSeconds(1));
        assertThat(htpasswd.verify("alice", "old".toCharArray())).isTrue(); // looked at now: unchanged

        HtpasswdFiles.writeText(htpasswd.file(), HtpasswdFiles.line("alice", "new") + HtpasswdFiles.line("bob", "b"));
        time.advance(Duration.ofMillis(500));

        assertThat(htpasswd.users()).containsExactly("alice");
        assertThat(htpasswd.verify("alice", "old".toCharArray())).isTrue();
        time.advance(Duration.ofMillis(500));
        assertThat(htpasswd.users()).containsExactly("alice", "bob");
    }

    @Test
    void passwordChangedInPlaceWithTheSameSizeIsReloaded() throws IOException {
        Htpasswd htpasswd = load(HtpasswdFiles.line("alice", "old"));
        FileTime before = Files.getLastModifiedTime(htpasswd.file());
        String replaced = HtpasswdFiles.line("alice", "new");
        assertThat(replaced).hasSameSizeAs(Files.readString(htpasswd.file()));

        HtpasswdFiles.writeText(htpasswd.file(), replaced);
        Files.setLastModifiedTime(htpasswd.file(), FileTime.from(before.toInstant().plusSeconds(1)));
        time.advance(Duration.ofSeconds(1));

        assertThat(htpasswd.verify("alice", "new".toCharArray())).isTrue();
    }

    @Test
    void kubernetesSecretSymlinkSwapIsReloadedEvenWithTheSameSizeAndTime() throws IOException {
        // A Secret volume: htpasswd -> ..data/htpasswd, ..data -> ..2026_01_01_v1; an update swaps ..data.
        Path v1 = Files.createDirectory(dir.resolve("..2026_01_01_v1"));
        Path v2 = Files.createDirectory(dir.resolve("..2026_01_01_v2"));
        HtpasswdFiles.writeText(v1.resolve("htpasswd"), HtpasswdFiles.line("alice", "old"));
        HtpasswdFiles.writeText(v2.resolve("htpasswd"), HtpasswdFiles.line("alice", "new"));
        FileTime same = FileTime.from(Instant.parse("2026-01-01T00:00:00Z"));
        Files.setLastModifiedTime(v1.resolve("htpasswd"), same);
        Files.setLastModifiedTime(v2.resolve("htpasswd"), same);
        Path data = Files.createSymbolicLink(dir.resolve("..data"), v1.getFileName());
        Path link = Files.createSymbolicLink(dir.resolve("htpasswd"), Path.of("..data", "htpasswd"));
        Htpasswd htpasswd = Htpasswd.load(link, time);
        assertThat(htpasswd.verify("alice", "old".toCharArray())).isTrue();

        Path next = Files.createSymbolicLink(dir.resolve("..data_tmp"), v2.getFileName());
        Files.move(next, data, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        time.advance(Duration.ofSeconds(1));

        assertThat(htpasswd.verify("alice", "new".toCharArray())).isTrue();
        assertThat(htpasswd.verify("alice", "old".toCharArray())).isFalse();
        assertThat(htpasswd.file()).isEqualTo(link);
    }

    @Test
    void brokenReloadKeepsThePreviousAccounts() throws IOException {
        Htpasswd htpasswd = load(HtpasswdFiles.line("alice", "a"));
        HtpasswdFiles.writeText(htpasswd.file(), HtpasswdFiles.line("alice", "changed") + "bob:$apr1$Vj1ZnX1O$kLd0l8s3JHM8rYyS7XHbD/\n");
        time.advance(Duration.ofSeconds(1));

        assertThat(htpasswd.verify("alice", "a".toCharArray())).isTrue();
        assertThat(htpasswd.verify("alice", "changed".toCharArray())).isFalse();

        HtpasswdFiles.writeText(htpasswd.file(), HtpasswdFiles.line("alice", "fixed"));
        time.advance(Duration.ofSeconds(1));

        assertThat(htpasswd.verify("alice", "fixed".toCharArray())).isTrue();
    }

    @Test
    void deletedFileKeepsThePreviousAccountsUntilItReturns() throws IOException {
        Htpasswd htpasswd = load(HtpasswdFiles.line("alice", "a"));
        Files.delete(htpasswd.file());
        time.advance(Duration.ofSeconds(1));

        assertThat(htpasswd.verify("alice", "a".toCharArray())).isTrue();

        HtpasswdFiles.writeText(htpasswd.file(), HtpasswdFiles.line("alice", "back") + HtpasswdFiles.line("bob", "b"));
        time.advance(Duration.ofSeconds(1));
        assertThat(htpasswd.verify("alice", "back".toCharArray())).isTrue();
    }

    @Test
    void clockThatJumpsBackStillLooksAtTheFile() throws IOException {
        Htpasswd htpasswd = load(HtpasswdFiles.line("alice", "old"));
        time.advance(Duration.ofHours(-1));
        HtpasswdFiles.writeText(htpasswd.file(), HtpasswdFiles.line("alice", "new") + HtpasswdFiles.line("bob", "b"));

        assertThat(htpasswd.verify("alice", "new".toCharArray())).isTrue();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
