package io.berth.auth.token;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.testing.TestPki;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.code_intelligence.jazzer.mutation.annotation.NotNull;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.Base64URL;
import io.berth.auth.FakeTime;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Set;

/**
 * Fuzzes the bearer-token validator: whatever a client sends, it is a valid token or an {@link InvalidTokenException},
 * never another exception. Seeds: {@code src/test/resources/io/berth/auth/token/TokenFuzzTestInputs/}.
 */
class TokenFuzzTest {
    static final String SERVICE = "registry.example.test";
    static final String ISSUER = "berth-token-server";
    /** The JWKS name of the signing key, so a seed's header can name it with {@code "kid":"fuzz"}. */
    static final String KID = "fuzz";
    /** In a signed input's header, replaced by the root certificate (base64 DER), for an {@code x5c} seed. */
    static final String ROOT_CERT = "$ROOT_CERT";
    /** In a signed input's header, replaced by the signing key as a public JWK, for a {@code jwk} seed. */
    static final String PUBLIC_JWK = "\"$PUBLIC_JWK\"";

    /** The same P-256 key on every run, so that a finding reproduces. */
    private static final KeyPair KEYS = fixedEcKeys();
    private static final X509Certificate ROOT = TestPki.certificate("fuzz root", KEYS.getPublic(), "fuzz root",
            KEYS.getPrivate(), true, TestPki.Validity.around(TokenPki.NOW), java.util.List.of());
    private static final ECKey PUBLIC = new ECKey.Builder(Curve.P_256, (ECPublicKey) KEYS.getPublic()).keyID(KID).build();
    private static final TokenValidator VALIDATOR = TokenValidator.create(
            new TokenSettings("https://auth.example.test/token", SERVICE, ISSUER, List.of(ROOT), new JWKSet(PUBLIC),
                    Set.of()),
            new FakeTime(TokenPki.NOW));

    /** Any text after {@code Bearer }: refused unless it is a token the trusted key signed. */
    @FuzzTest
    void anyTokenTextIsValidOrInvalidTokenException(@NotNull String token) {
        validateOrRefuse(token);
    }

    /**
     * A header and claims of the fuzzer's choosing (the input's first line and the rest), really signed with the
     * trusted key: so the fuzzer gets past the signature, into key lookup, algorithm checks and claim checks.
     */
    @FuzzTest
    void anySignedHeaderAndClaimsAreValidOrInvalidTokenException(byte[] input) throws JOSEException {
        int newline = indexOf(input, (byte) '\n');
        String header = new String(Arrays.copyOfRange(input, 0, newline), StandardCharsets.UTF_8)
                .replace(ROOT_CERT, certificateBase64())
                .replace(PUBLIC_JWK, PUBLIC.toJSONString());
        byte[] claims = newline < input.length ? Arrays.copyOfRange(input, newline + 1, input.length) : new byte[0];
        String signingInput = Base64URL.encode(header.getBytes(StandardCharsets.UTF_8)) + "." + Base64URL.encode(claims);
        Base64URL signature = new ECDSASigner((ECPrivateKey) KEYS.getPrivate())
                .sign(new JWSHeader(JWSAlgorithm.ES256), signingInput.getBytes(StandardCharsets.US_ASCII));
        validateOrRefuse(signingInput + "." + signature);
    }

    private static void validateOrRefuse(String token) {
        ValidatedToken valid;
        try {
            valid = VALIDATOR.validate(token);
        } catch (InvalidTokenException e) {
            assertThat(e.reason()).isNotNull();
            return;
        }
        assertThat(valid.expiresAt()).isAfterOrEqualTo(TokenPki.NOW.minus(TokenValidator.LEEWAY));
        assertThat(valid.subject()).isNotNull();
        assertThat(valid.access()).allSatisfy(scope -> assertThat(scope.actions()).isNotEmpty());
    }

    private static int indexOf(byte[] input, byte b) {
        for (int i = 0; i < input.length; i++) {
            if (input[i] == b) {
                return i;
            }
        }
        return input.length;
    }

    private static String certificateBase64() {
        try {
            return Base64.getEncoder().encodeToString(ROOT.getEncoded());
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static KeyPair fixedEcKeys() {
        try {
            SecureRandom seeded = SecureRandom.getInstance("SHA1PRNG");
            seeded.setSeed(20261206L);
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"), seeded);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
