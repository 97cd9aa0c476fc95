package io.berth.auth.token;

import io.berth.testing.TestPki;
import io.berth.auth.FakeTime;
import static io.berth.auth.token.TokenPki.NOW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.SignedJWT;
import io.berth.auth.Action;
import io.berth.auth.Scope;
import io.berth.testing.TestPki.Ca;
import io.berth.testing.TestPki.Identity;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TokenIssuerTest {
    static final Ca CA = TokenPki.root("issuer test root");
    static final Identity SIGNER = CA.intermediate("issuer test intermediate").leaf("token signer", TestPki.ec());

    final FakeTime clock = new FakeTime(NOW.plusMillis(700));

    TokenIssuer.Builder builder() {
        return TokenIssuer.builder().issuer("berth-token").signingKey(SIGNER.privateKey(), SIGNER.chain()).clock(clock);
    }

    @Test
    void headerCarriesAlgorithmTypeLibtrustKidAndTheChain() throws Exception {
        SignedJWT jwt = SignedJWT.parse(builder().build().issue("alice", "registry", List.of()).token());

        assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
        assertThat(jwt.getHeader().getType()).isEqualTo(JOSEObjectType.JWT);
        assertThat(jwt.getHeader().getKeyID()).isEqualTo(TokenKeys.libtrustKeyId(SIGNER.publicKey()));
        assertThat(jwt.getHeader().getX509CertChain()).extracting(Base64::decode)
                .containsExactly(SIGNER.chain().get(0).getEncoded(), SIGNER.chain().get(1).getEncoded());
    }

    @Test
    void claimsAreThoseRegistry2Reads() throws Exception {
        TokenIssuer issuer = builder().build();
        List<Scope> granted = List.of(Scope.repository("team/app", Action.PUSH, Action.PULL), Scope.catalog(),
                Scope.repository("team/denied"));

        IssuedToken issued = issuer.issue("alice", "registry.example.test", granted);
        Map<String, Object> claims = JSONObjectUtils.parse(
                new String(new Base64URL(issued.token().split("\\.")[1]).decode(), StandardCharsets.UTF_8));

        long now = NOW.getEpochSecond();
        assertThat(issued.issuedAt()).isEqualTo(NOW);
        assertThat(issued.expiresIn()).isEqualTo(Duration.ofMinutes(5));
        assertThat(claims).containsEntry("iss", "berth-token").containsEntry("sub", "alice")
                // a single string: registry:2 2.x decodes aud into a Go string and refuses an array
                .containsEntry("aud", "registry.example.test")
                .containsEntry("iat", now).containsEntry("nbf", now).containsEntry("exp", now + 300);
        assertThat((String) claims.get("jti")).hasSizeGreaterThanOrEqualTo(22);
        assertThat(claims.get("access")).isEqualTo(List.of(
                Map.of("type", "repository", "name", "team/app", "actions", List.of("pull", "push")),
                Map.of("type", "registry", "name", "catalog", "actions", List.of("*")),
                Map.of("type", "repository", "name", "team/denied", "actions", List.of())));
    }

    @Test
    void everyTokenHasItsOwnId() throws Exception {
        TokenIssuer issuer = builder().build();

        String first = SignedJWT.parse(issuer.issue("a", "r", List.of()).token()).getJWTClaimsSet().getJWTID();
        String second = SignedJWT.parse(issuer.issue("a", "r", List.of()).token()).getJWTClaimsSet().getJWTID();

        assertThat(first).isNotEqualTo(second);
    }

    @Test
    void expirationIsConfigurable() {
        IssuedToken issued = builder().expiration(Duration.ofMinutes(30)).build().issue("a", "r", List.of());

        assertThat(issued.expiresIn()).isEqualTo(Duration.ofMinutes(30));
    }

    @Test
    void issuedTokensAreAcceptedByAValidatorTrustingTheRoot() throws Exception {
        TokenValidator validator = TokenValidator.create(TokenSettings.of("https://auth/token", "registry",
                "berth-token", List.of(CA.certificate()), null), clock);

        ValidatedToken token = validator.validate(builder().build()
                .issue("alice", "registry", List.of(Scope.repository("team/app", Action.PULL))).token());

        assertThat(token.access()).containsExactly(Scope.repository("team/app", Action.PULL));
        assertThat(token.expiresAt()).isEqualTo(NOW.plus(Duration.ofMinutes(5)));
    }

    @Test
    void privateKeyOfAnotherCertificateIsRefused() {
        assertThatThrownBy(() -> builder().signingKey(TestPki.ec().getPrivate(), SIGNER.chain()).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not belong to the leaf certificate");
    }

    @Test
    void privateKeyOfAnotherTypeIsRefused() {
        assertThatThrownBy(() -> builder().signingKey(TestPki.ed25519().getPrivate(), SIGNER.chain()).build())
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void chainOutOfOrderIsRefused() {
        List<X509Certificate> reversed = List.of(SIGNER.chain().get(1), SIGNER.chain().get(0));

        assertThatThrownBy(() -> builder().signingKey(SIGNER.privateKey(), reversed).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("leaf first");
    }

    @Test
    void expiredSigningCertificateIsRefused() {
        Identity expired = CA.leaf("old signer", TestPki.ec(), new TestPki.Validity(NOW.minus(Duration.ofDays(9)),
                NOW.minus(Duration.ofDays(2))));

        assertThatThrownBy(() -> builder().signingKey(expired.privateKey(), expired.chain()).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expired");
    }

    @Test
    void shortRsaKeyIsRefused() throws Exception {
        java.security.KeyPairGenerator generator = java.security.KeyPairGenerator.getInstance("RSA");
        generator.initialize(1024);
        Identity weak = CA.leaf("weak signer", generator.generateKeyPair());

        assertThatThrownBy(() -> builder().signingKey(weak.privateKey(), weak.chain()).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 2048");
    }

    @Test
    void missingSettingsAreNamed() {
        assertThatThrownBy(() -> TokenIssuer.builder().signingKey(SIGNER.privateKey(), SIGNER.chain()).build())
                .hasMessageContaining("issuer name");
        assertThatThrownBy(() -> TokenIssuer.builder().issuer("i").build())
                .hasMessageContaining("signing key");
        assertThatThrownBy(() -> builder().expiration(Duration.ofMillis(500)).build())
                .hasMessageContaining("at least one second");
        assertThatThrownBy(() -> builder().build().issue("a", " ", List.of()))
                .hasMessageContaining("audience");
    }

    @Test
    void p384KeysSignWithEs384() throws Exception {
        Identity p384 = CA.leaf("P-384 signer", TestPki.ec("secp384r1"));
        TokenIssuer issuer = builder().signingKey(p384.privateKey(), p384.chain()).build();
        TokenValidator validator = TokenValidator.create(TokenSettings.of("https://auth/token", "registry",
                "berth-token", List.of(CA.certificate()), null), clock);

        assertThat(issuer.algorithm()).isEqualTo("ES384");
        assertThat(validator.validate(issuer.issue("a", "registry", List.of()).token()).subject()).isEqualTo("a");
    }
}
