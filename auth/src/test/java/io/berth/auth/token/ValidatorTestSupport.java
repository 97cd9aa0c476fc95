package io.berth.auth.token;

import io.berth.testing.TestPki;
import io.berth.auth.FakeTime;
import static io.berth.auth.token.TokenPki.NOW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import io.berth.auth.token.InvalidTokenException.Reason;
import io.berth.testing.TestPki.Ca;
import io.berth.testing.TestPki.Identity;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;

/** A validator trusting one test root, a clock at {@link TokenPki#NOW}, and the tools to mint and forge tokens. */
abstract class ValidatorTestSupport {
    static final String REALM = "https://auth.example.test/token";
    static final String SERVICE = "registry.example.test";
    static final String ISSUER = "berth-token-server";

    static final Ca CA = TokenPki.root("Berth test root");
    static final Ca OTHER_CA = TokenPki.root("Someone else's root");
    static final Identity EC_SIGNER = CA.leaf("token signer (EC)", TestPki.ec());
    static final Identity RSA_SIGNER = CA.leaf("token signer (RSA)", TestPki.rsa());
    static final Identity ED_SIGNER = CA.leaf("token signer (Ed25519)", TestPki.ed25519());
    static final KeyPair ATTACKER = TestPki.ec();

    final FakeTime clock = new FakeTime(NOW);
    TokenValidator validator;

    @BeforeEach
    void createValidator() {
        validator = validator(Set.of());
    }

    TokenValidator validator(Set<String> algorithms) {
        return TokenValidator.create(
                new TokenSettings(REALM, SERVICE, ISSUER, List.of(CA.certificate()), null, algorithms), clock);
    }

    TokenIssuer issuer(Identity identity) {
        return TokenIssuer.builder().issuer(ISSUER).signingKey(identity.privateKey(), identity.chain())
                .clock(clock).build();
    }

    void assertRefused(String token, Reason reason) {
        assertThatThrownBy(() -> validator.validate(token))
                .isInstanceOfSatisfying(InvalidTokenException.class,
                        e -> assertThat(e.reason()).as(e.getMessage()).isEqualTo(reason));
    }

    /** Valid claims: alice may pull team/app for five minutes from now. */
    static JWTClaimsSet.Builder claims() {
        return new JWTClaimsSet.Builder()
                .issuer(ISSUER)
                .subject("alice")
                .audience(SERVICE)
                .issueTime(Date.from(NOW))
                .notBeforeTime(Date.from(NOW))
                .expirationTime(Date.from(NOW.plus(Duration.ofMinutes(5))))
                .jwtID("test")
                .claim("access", List.of(Map.of("type", "repository", "name", "team/app", "actions",
                        List.of("pull"))));
    }

    static JWSHeader x5cHeader(Identity identity) {
        return x5cHeaderWith(Jws.algorithmFor(identity.publicKey()), identity);
    }

    static JWSHeader x5cHeaderWith(JWSAlgorithm alg, Identity identity) {
        return new JWSHeader.Builder(alg).type(JOSEObjectType.JWT).x509CertChain(x5c(identity.chain())).build();
    }

    static List<Base64> x5c(List<X509Certificate> chain) {
        List<Base64> out = new ArrayList<>();
        for (X509Certificate certificate : chain) {
            try {
                out.add(Base64.encode(certificate.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }

    /** Signs with the identity's private key whatever the header says, as a forger would. */
    static String sign(JWSHeader header, JWTClaimsSet claims, Identity signer) throws Exception {
        return signRaw(header.toBase64URL().toString(), claims, signer);
    }

    static String signRaw(String encodedHeader, JWTClaimsSet claims, Identity signer) throws Exception {
        String signingInput = encodedHeader + "." + b64(claims.toString());
        JWSHeader own = new JWSHeader(Jws.algorithmFor(signer.publicKey()));
        Base64URL signature = Jws.signer(signer.privateKey(), signer.publicKey())
                .sign(own, signingInput.getBytes(StandardCharsets.US_ASCII));
        return signingInput + "." + signature;
    }

    static String b64(String json) {
        return Base64URL.encode(json.getBytes(StandardCharsets.UTF_8)).toString();
    }
}
