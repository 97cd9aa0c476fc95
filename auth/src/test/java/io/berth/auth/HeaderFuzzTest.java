package io.berth.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.code_intelligence.jazzer.mutation.annotation.NotNull;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/**
 * Fuzzes what a client's request carries for auth: the {@code Authorization: Basic} header and the {@code scope}
 * parameter of a token request. Seeds: {@code src/test/resources/io/berth/auth/HeaderFuzzTestInputs/}.
 */
class HeaderFuzzTest {
    /** Any header is credentials that encode back to the same user and password, or a MalformedException. */
    @FuzzTest
    void anyAuthorizationHeaderIsBasicCredentialsOrMalformed(@NotNull String header)
            throws BasicCredentials.MalformedException {
        BasicCredentials credentials;
        try {
            credentials = BasicCredentials.parse(header);
        } catch (BasicCredentials.MalformedException e) {
            assertThat(e.reason()).isNotBlank();
            return;
        }
        assertThat(credentials.user()).isNotEmpty().doesNotContain(":");
        byte[] user = credentials.user().getBytes(StandardCharsets.UTF_8);
        byte[] both = new byte[user.length + 1 + credentials.password().length];
        System.arraycopy(user, 0, both, 0, user.length);
        both[user.length] = ':';
        System.arraycopy(credentials.password(), 0, both, user.length + 1, credentials.password().length);
        assertThat(BasicCredentials.parse("Basic " + Base64.getEncoder().encodeToString(both))).isEqualTo(credentials);
    }

    /** Any scope parameter parses to scopes whose text form parses back to the same scopes. */
    @FuzzTest
    void anyScopeParameterReadsBackTheSame(@NotNull String parameter) {
        List<Scope> scopes = Scope.parseAll(List.of(parameter));
        for (Scope scope : scopes) {
            assertThat(scope.type()).isNotEmpty().doesNotContain(":");
            assertThat(scope.name()).isNotEmpty();
            assertThat(Scope.parse(scope.toString())).isEqualTo(scope);
        }
    }
}
