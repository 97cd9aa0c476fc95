package io.berth.auth.token;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.testing.TestPki;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import io.berth.testing.TestPki.Ca;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TokenSettingsTest {
    static final List<X509Certificate> ROOTS = List.of(TokenPki.root("settings root").certificate());

    static TokenSettings withAlgorithms(String... algorithms) {
        return new TokenSettings("https://auth/token", "registry", "issuer", ROOTS, null, Set.of(algorithms));
    }

    @Test
    void hmacAlgorithmsAreRefused() {
        for (String hmac : List.of("HS256", "HS384", "HS512")) {
            assertThatThrownBy(() -> withAlgorithms("RS256", hmac))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(hmac + " is refused");
        }
    }

    @Test
    void noneIsRefused() {
        assertThatThrownBy(() -> withAlgorithms("none"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("none is refused");
    }

    @Test
    void unknownAlgorithmIsRefused() {
        assertThatThrownBy(() -> withAlgorithms("RS1"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unsupported signing algorithm RS1");
    }

    @Test
    void emptyAlgorithmsAllowEveryAsymmetricOne() {
        assertThat(Jws.algorithms(withAlgorithms().signingAlgorithms()))
                .extracting(a -> a.getName())
                .containsExactlyInAnyOrder("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                        "ES512", "EdDSA");
    }

    @Test
    void atLeastOneKeyIsRequired() {
        assertThatThrownBy(() -> TokenSettings.of("r", "registry", "issuer", List.of(), null))
                .hasMessageContaining("at least one token signing key");
        assertThatThrownBy(() -> TokenSettings.of("r", "registry", "issuer", List.of(), new JWKSet()))
                .hasMessageContaining("at least one token signing key");
    }

    @Test
    void symmetricJwksKeyIsRefused() {
        JWKSet jwks = new JWKSet(new OctetSequenceKey.Builder(new byte[32]).keyID("shared").build());

        assertThatThrownBy(() -> TokenSettings.of("r", "registry", "issuer", ROOTS, jwks))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("shared");
    }

    @Test
    void serviceAndIssuerAreRequired() {
        assertThatThrownBy(() -> TokenSettings.of("r", " ", "issuer", ROOTS, null)).hasMessageContaining("service");
        assertThatThrownBy(() -> TokenSettings.of("r", "registry", "", ROOTS, null)).hasMessageContaining("issuer");
    }
}
