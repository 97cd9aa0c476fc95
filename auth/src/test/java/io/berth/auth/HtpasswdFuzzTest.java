package io.berth.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

/**
 * Fuzzes the htpasswd parser: any file is a set of bcrypt accounts or an IllegalArgumentException naming the file and
 * line, never another exception. Seeds: {@code src/test/resources/io/berth/auth/HtpasswdFuzzTestInputs/}.
 */
class HtpasswdFuzzTest {
    private static final Path FILE = Path.of("/etc/berth/htpasswd");
    private static final FileStamp STAMP = new FileStamp(FILE, FileTime.fromMillis(0), 0, null);

    @FuzzTest
    void anyFileIsBcryptAccountsOrRefusedNamingTheLine(byte[] content) {
        HtpasswdEntries entries;
        try {
            entries = HtpasswdEntries.parse(FILE, content, STAMP, 1);
        } catch (IllegalArgumentException e) {
            assertThat(e.getMessage()).startsWith("htpasswd " + FILE + " line ");
            return;
        }
        assertThat(entries.dummyCost()).isBetween(4, 31);
        entries.hashes().forEach((user, hash) -> {
            assertThat(user).isNotEmpty().isEqualTo(user.strip()).doesNotContain(":", "\n");
            assertThat(hash).matches("\\$2[aby]\\$(0[4-9]|[12][0-9]|3[01])\\$[./A-Za-z0-9]{53}");
        });
    }
}
