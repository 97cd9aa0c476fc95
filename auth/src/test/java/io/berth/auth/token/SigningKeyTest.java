package io.berth.auth.token;

import static io.berth.auth.token.TokenPki.NOW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.testing.TestPki;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.sun.net.httpserver.HttpServer;
import io.berth.auth.Action;
import io.berth.auth.Scope;
import io.berth.auth.token.InvalidTokenException.Reason;
import io.berth.testing.TestPki.Ca;
import io.berth.testing.TestPki.Identity;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** How a token names its signing key (x5c, jwk, kid) and what makes that key trusted; jku and x5u are never used. */
class SigningKeyTest extends ValidatorTestSupport {
    // A P-256 key whose y has a leading zero byte, with its kids as distribution 3.x (GetJWKThumbprint) and
    // docker/libtrust compute them.
    static final String SHORT_Y_PRIVATE = """
            MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXvehr5RCkylXCBMG
            /hZ+xnBPnihwkk4afBM1X+rsyaKhRANCAARlXlZW9YL9dcBSpFv8z8vfxI9m25I3
            hEzw0SjtOdq4NAD0Zy9Egv4STk3xdIJ6XeIGsbll6DDVo/ANWZGuo5R6""";
    static final String SHORT_Y_PUBLIC = """
            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZV5WVvWC/XXAUqRb/M/L38SPZtuS
            N4RM8NEo7TnauDQA9GcvRIL+Ek5N8XSCel3iBrG5Zegw1aPwDVmRrqOUeg==""";
    static final String SHORT_Y_DISTRIBUTION_KID = "Qpdl1v4d7UfwvkHUq9bdw3Ww-yXqjqGqR6k5x7sCydE";
    static final String SHORT_Y_LIBTRUST_ID = "IOUZ:VYHN:QNQM:4QNC:W6Z7:7YSK:R7F2:WKAG:6H6C:EE6E:UN3G:GAR5";

    @Test
    void chainThroughAnIntermediateIsAccepted() throws Exception {
        Identity signer = CA.intermediate("Berth test intermediate").leaf("token signer", TestPki.ec());
        assertThat(signer.chain()).hasSize(2);

        ValidatedToken token = validator.validate(issuer(signer).issue("bob", SERVICE, List.of()).token());

        assertThat(token.subject()).isEqualTo("bob");
    }

    @Test
    void chainThatIncludesTheRootIsAccepted() throws Exception {
        List<X509Certificate> chain = List.of(EC_SIGNER.leaf(), CA.certificate());
        TokenIssuer issuer = TokenIssuer.builder().issuer(ISSUER).signingKey(EC_SIGNER.privateKey(), chain)
                .clock(clock).build();

        assertThat(validator.validate(issuer.issue("bob", SERVICE, List.of()).token()).subject()).isEqualTo("bob");
    }

    @Test
    void selfSignedSigningCertificateInTheRootBundleIsAccepted() throws Exception {
        // docker_auth's usual setup: one self-signed certificate is both the signer and the rootcertbundle.
        Ca self = TokenPki.root("docker_auth", TestPki.rsa());
        TokenValidator trusting = TokenValidator.create(
                TokenSettings.of(REALM, SERVICE, ISSUER, List.of(self.certificate()), null), clock);

        String token = issuer(self.self()).issue("carol", SERVICE, List.of()).token();

        assertThat(trusting.validate(token).subject()).isEqualTo("carol");
    }

    @Test
    void kidThatIsTheLibtrustIdOfARootKeyIsAccepted() throws Exception {
        // registry:2 2.x style: no x5c, the kid names a root certificate's key by its libtrust ID.
        String kid = TokenKeys.libtrustKeyId(CA.certificate().getPublicKey());
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256).type(JOSEObjectType.JWT).keyID(kid).build();

        ValidatedToken token = validator.validate(sign(header, claims().build(), CA.self()));

        assertThat(token.subject()).isEqualTo("alice");
        assertThat(token.access()).containsExactly(Scope.repository("team/app", Action.PULL));
    }

    @Test
    void kidThatIsTheJwkThumbprintOfARootKeyIsAccepted() throws Exception {
        // registry 3.x style: the kid is the RFC 7638 thumbprint of a root certificate's key.
        String kid = Jws.jwk(CA.certificate().getPublicKey()).computeThumbprint().toString();
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(kid).build();

        assertThat(validator.validate(sign(header, claims().build(), CA.self())).subject()).isEqualTo("alice");
    }

    @Test
    void kidThatIsDistributionsThumbprintOfAKeyWithAShortCoordinateIsAccepted() throws Exception {
        // This P-256 key's y coordinate has a leading zero byte. distribution 3.x drops it when it computes the
        // thumbprint (Go's big.Int.Bytes), so its kid differs from RFC 7638's; both name the key.
        KeyPair keys = new KeyPair(TokenKeysTest.publicKey("EC", SHORT_Y_PUBLIC), TokenKeysTest.privateKey("EC",
                SHORT_Y_PRIVATE));
        Ca root = TokenPki.root("short y root", keys);
        TokenValidator trusting = TokenValidator.create(
                TokenSettings.of(REALM, SERVICE, ISSUER, List.of(root.certificate()), null), clock);
        String rfc7638 = Jws.jwk(keys.getPublic()).computeThumbprint().toString();
        assertThat(rfc7638).isNotEqualTo(SHORT_Y_DISTRIBUTION_KID);

        for (String kid : List.of(SHORT_Y_DISTRIBUTION_KID, rfc7638, SHORT_Y_LIBTRUST_ID)) {
            JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(kid).build();

            assertThat(trusting.validate(sign(header, claims().build(), root.self())).subject()).as(kid)
                    .isEqualTo("alice");
        }
    }

    @Test
    void kidOfAJwksKeyIsAccepted() throws Exception {
        KeyPair keys = TestPki.rsa();
        JWK jwk = Jws.jwk(keys.getPublic());
        JWKSet jwks = new JWKSet(new com.nimbusds.jose.jwk.RSAKey.Builder(jwk.toRSAKey()).keyID("jwks-key-1").build());
        TokenValidator withJwks = TokenValidator.create(TokenSettings.of(REALM, SERVICE, ISSUER, List.of(), jwks),
                clock);
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("jwks-key-1").build();

        String token = sign(header, claims().build(), new Identity(keys, List.of()));

        assertThat(withJwks.validate(token).subject()).isEqualTo("alice");
    }

    @Test
    void embeddedJwkThatIsARootKeyIsAccepted() throws Exception {
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256).jwk(Jws.jwk(CA.certificate().getPublicKey()))
                .build();

        assertThat(validator.validate(sign(header, claims().build(), CA.self())).subject()).isEqualTo("alice");
    }

    @Test
    void embeddedJwkWithItsOwnTrustedChainIsAccepted() throws Exception {
        JWK jwk = new com.nimbusds.jose.jwk.ECKey.Builder(Jws.jwk(EC_SIGNER.publicKey()).toECKey())
                .x509CertChain(x5c(EC_SIGNER.chain())).build();
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256).jwk(jwk).build();

        assertThat(validator.validate(sign(header, claims().build(), EC_SIGNER)).subject()).isEqualTo("alice");
    }

    @Test
    void chainToAnUntrustedRootIsRefused() {
        Identity outsider = OTHER_CA.leaf("token signer", TestPki.ec());
        String token = issuer(outsider).issue("mallory", SERVICE, List.of(Scope.repository("team/app", Action.PUSH)))
                .token();

        assertRefused(token, Reason.UNTRUSTED_KEY);
    }

    @Test
    void untrustedLeafWithTheTrustedRootAppendedIsRefused() throws Exception {
        Identity outsider = OTHER_CA.leaf("token signer", TestPki.ec());
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256)
                .x509CertChain(x5c(List.of(outsider.leaf(), CA.certificate()))).build();

        assertRefused(sign(header, claims().build(), outsider), Reason.UNTRUSTED_KEY);
    }

    @Test
    void expiredSigningCertificateIsRefused() throws Exception {
        Identity expired = CA.leaf("expired signer", TestPki.ec(), new TestPki.Validity(NOW.minus(Duration.ofDays(10)),
                NOW.minus(Duration.ofDays(1))));
        String token = sign(x5cHeader(expired), claims().build(), expired);

        assertRefused(token, Reason.UNTRUSTED_KEY);
    }

    @Test
    void kidNamingAnUnknownKeyIsRefused() throws Exception {
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256)
                .keyID(TokenKeys.libtrustKeyId(ATTACKER.getPublic())).build();

        assertRefused(sign(header, claims().build(), new Identity(ATTACKER, List.of())), Reason.UNTRUSTED_KEY);
    }

    @Test
    void tokenSuppliedTextIsEscapedInTheReason() throws Exception {
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("evil\nINFO forged log line").build();

        assertThatThrownBy(() -> validator.validate(sign(header, claims().build(), new Identity(ATTACKER, List.of()))))
                .isInstanceOf(InvalidTokenException.class)
                .hasMessage("UNTRUSTED_KEY: kid \"evil\\u000aINFO forged log line\" names no trusted key");
    }

    @Test
    void jkuIsNeverFetched() throws Exception {
        assertKeyUrlNeverFetched(true);
    }

    @Test
    void x5uIsNeverFetched() throws Exception {
        assertKeyUrlNeverFetched(false);
    }

    private void assertKeyUrlNeverFetched(boolean jku) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        AtomicInteger requests = new AtomicInteger();
        server.createContext("/", exchange -> {
            requests.incrementAndGet();
            exchange.sendResponseHeaders(404, -1);
            exchange.close();
        });
        server.start();
        try {
            URI url = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/keys");
            JWSHeader.Builder header = new JWSHeader.Builder(JWSAlgorithm.ES256);
            header = jku ? header.jwkURL(url) : header.x509CertURL(url);

            assertRefused(sign(header.build(), claims().build(), new Identity(ATTACKER, List.of())),
                    Reason.UNTRUSTED_KEY);
            assertThat(requests).hasValue(0);
        } finally {
            server.stop(0);
        }
    }

    @Test
    void embeddedJwkThatIsNotTrustedIsRefused() throws Exception {
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256).jwk(Jws.jwk(ATTACKER.getPublic()))
                .keyID(TokenKeys.libtrustKeyId(CA.certificate().getPublicKey())).build();

        assertRefused(sign(header, claims().build(), new Identity(ATTACKER, List.of())), Reason.UNTRUSTED_KEY);
    }

    @Test
    void embeddedJwkWhoseChainIsForAnotherKeyIsRefused() throws Exception {
        // A trusted chain glued to the attacker's key: the key must be the chain's leaf key.
        Map<String, Object> jwk = new HashMap<>(Jws.jwk(ATTACKER.getPublic()).toJSONObject());
        jwk.put("x5c", x5c(EC_SIGNER.chain()).stream().map(Base64::toString).toList());
        String header = "{\"alg\":\"ES256\",\"jwk\":" + JSONObjectUtils.toJSONString(jwk) + "}";

        String token = signRaw(b64(header), claims().build(), new Identity(ATTACKER, List.of()));

        // nimbus already refuses to parse such a JWK (MALFORMED); were it to parse, the chain check refuses it.
        assertThatThrownBy(() -> validator.validate(token))
                .isInstanceOfSatisfying(InvalidTokenException.class,
                        e -> assertThat(e.reason()).isIn(Reason.MALFORMED, Reason.UNTRUSTED_KEY));
    }

    @Test
    void tokenWithNoKeyHeaderIsRefused() throws Exception {
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.ES256).type(JOSEObjectType.JWT).build();

        assertRefused(sign(header, claims().build(), EC_SIGNER), Reason.UNTRUSTED_KEY);
    }
}
