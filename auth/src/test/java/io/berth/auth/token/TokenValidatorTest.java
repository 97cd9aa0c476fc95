package io.berth.auth.token;

import io.berth.testing.TestPki;
import io.berth.auth.FakeTime;
import static io.berth.auth.token.TokenPki.NOW;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.berth.auth.Action;
import io.berth.auth.Principal;
import io.berth.auth.Scope;
import io.berth.auth.token.InvalidTokenException.Reason;
import io.berth.testing.TestPki.Identity;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a token must be to pass: signed with an allowed algorithm, untampered, and with valid claims. */
class TokenValidatorTest extends ValidatorTestSupport {
    // --- round trips -------------------------------------------------------------------------------------------

    @Test
    void rsaSignedTokenRoundTrips() throws Exception {
        assertRoundTrip(RSA_SIGNER, "RS256");
    }

    @Test
    void ecP256SignedTokenRoundTrips() throws Exception {
        assertRoundTrip(EC_SIGNER, "ES256");
    }

    @Test
    void ed25519SignedTokenRoundTrips() throws Exception {
        assertRoundTrip(ED_SIGNER, "EdDSA");
    }

    private void assertRoundTrip(Identity signer, String algorithm) throws Exception {
        TokenIssuer issuer = issuer(signer);
        assertThat(issuer.algorithm()).isEqualTo(algorithm);
        List<Scope> granted = List.of(Scope.repository("team/app", Action.PULL, Action.PUSH), Scope.catalog());

        ValidatedToken token = validator.validate(issuer.issue("alice", SERVICE, granted).token());

        assertThat(token.subject()).isEqualTo("alice");
        assertThat(token.principal()).isEqualTo(Principal.of("alice"));
        assertThat(token.access()).containsExactlyElementsOf(granted);
        assertThat(token.expiresAt()).isEqualTo(NOW.plus(TokenIssuer.DEFAULT_EXPIRATION));
    }

    @Test
    void audienceArrayThatContainsTheServiceIsAccepted() throws Exception {
        JWTClaimsSet claims = claims().audience(List.of("another.registry", SERVICE)).build();

        assertThat(validator.validate(sign(x5cHeader(EC_SIGNER), claims, EC_SIGNER)).subject()).isEqualTo("alice");
    }

    @Test
    void emptySubjectIsAnonymous() throws Exception {
        ValidatedToken token = validator.validate(issuer(EC_SIGNER).issue("", SERVICE, List.of()).token());

        assertThat(token.subject()).isEmpty();
        assertThat(token.principal()).isEqualTo(Principal.ANONYMOUS);
    }

    @Test
    void missingSubjectIsAnonymous() throws Exception {
        JWTClaimsSet claims = new JWTClaimsSet.Builder(claims().build()).subject(null).build();

        assertThat(validator.validate(sign(x5cHeader(EC_SIGNER), claims, EC_SIGNER)).principal())
                .isEqualTo(Principal.ANONYMOUS);
    }

    // --- forgeries and bad tokens ----------------------------------------------------------------------------------

    @Test
    void unsignedTokenIsRefused() {
        for (String none : List.of("none", "None", "NONE")) {
            String header = "{\"alg\":\"" + none + "\",\"typ\":\"JWT\",\"x5c\":[\""
                    + x5c(EC_SIGNER.chain()).get(0) + "\"]}";
            String token = b64(header) + "." + b64(claims().build().toString()) + ".";

            assertRefused(token, Reason.ALGORITHM_REFUSED);
        }
    }

    @Test
    void hs256SignedWithThePublicCertificateIsRefused() throws Exception {
        // The classic confusion: HMAC "keyed" with public material the validator also holds.
        byte[] certificateDer = RSA_SIGNER.leaf().getEncoded();
        byte[] publicKeyDer = RSA_SIGNER.publicKey().getEncoded();
        byte[] certificatePem = ("-----BEGIN CERTIFICATE-----\n"
                + java.util.Base64.getMimeEncoder().encodeToString(certificateDer)
                + "\n-----END CERTIFICATE-----\n").getBytes(StandardCharsets.US_ASCII);
        for (byte[] secret : List.of(certificateDer, publicKeyDer, certificatePem)) {
            JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT)
                    .keyID(TokenKeys.libtrustKeyId(RSA_SIGNER.publicKey()))
                    .x509CertChain(x5c(RSA_SIGNER.chain())).build();
            SignedJWT jwt = new SignedJWT(header, claims().build());
            jwt.sign(new MACSigner(secret));

            assertRefused(jwt.serialize(), Reason.ALGORITHM_REFUSED);
        }
    }

    @Test
    void trustedChainSignedWithAnotherKeyIsRefused() throws Exception {
        // The x5c names the genuine signer, but the attacker signs with their own key.
        String token = sign(x5cHeader(EC_SIGNER), claims().build(), new Identity(ATTACKER, List.of()));

        assertRefused(token, Reason.BAD_SIGNATURE);
    }

    @Test
    void tokenExpiredBeyondTheLeewayIsRefused() {
        String token = issuer(EC_SIGNER).issue("alice", SERVICE, List.of()).token();
        clock.advance(TokenIssuer.DEFAULT_EXPIRATION.plus(TokenValidator.LEEWAY).plusSeconds(1));

        assertRefused(token, Reason.EXPIRED);
    }

    @Test
    void tokenExpiredWithinTheLeewayIsAccepted() throws Exception {
        String token = issuer(EC_SIGNER).issue("alice", SERVICE, List.of()).token();
        clock.advance(TokenIssuer.DEFAULT_EXPIRATION.plus(TokenValidator.LEEWAY));

        assertThat(validator.validate(token).subject()).isEqualTo("alice");
    }

    @Test
    void tokenNotYetValidBeyondTheLeewayIsRefused() throws Exception {
        JWTClaimsSet claims = claims().notBeforeTime(Date.from(NOW.plusSeconds(61))).build();

        assertRefused(sign(x5cHeader(EC_SIGNER), claims, EC_SIGNER), Reason.NOT_YET_VALID);
    }

    @Test
    void tokenNotYetValidWithinTheLeewayIsAccepted() throws Exception {
        FakeTime ahead = new FakeTime(NOW.plusSeconds(60));
        String token = TokenIssuer.builder().issuer(ISSUER)
                .signingKey(EC_SIGNER.privateKey(), EC_SIGNER.chain()).clock(ahead).build()
                .issue("alice", SERVICE, List.of()).token();

        assertThat(validator.validate(token).subject()).isEqualTo("alice");
    }

    @Test
    void tokenIssuedInTheFutureIsRefused() throws Exception {
        JWTClaimsSet claims = claims().issueTime(Date.from(NOW.plus(Duration.ofMinutes(2)))).build();

        assertRefused(sign(x5cHeader(EC_SIGNER), claims, EC_SIGNER), Reason.NOT_YET_VALID);
    }

    @Test
    void tokenWithoutExpiryIsRefused() throws Exception {
        JWTClaimsSet claims = claims().expirationTime(null).build();

        assertRefused(sign(x5cHeader(EC_SIGNER), claims, EC_SIGNER), Reason.MALFORMED);
    }

    @Test
    void tokenForAnotherAudienceIsRefused() {
        String token = issuer(EC_SIGNER).issue("alice", "another.registry", List.of()).token();

        assertRefused(token, Reason.WRONG_AUDIENCE);
    }

    @Test
    void tokenFromAnotherIssuerIsRefused() {
        String token = TokenIssuer.builder().issuer("someone-else")
                .signingKey(EC_SIGNER.privateKey(), EC_SIGNER.chain()).clock(clock).build()
                .issue("alice", SERVICE, List.of()).token();

        assertRefused(token, Reason.WRONG_ISSUER);
    }

    @Test
    void algorithmOutsideTheConfiguredListIsRefused() {
        TokenValidator rsaOnly = validator(Set.of("RS256"));
        String ecToken = issuer(EC_SIGNER).issue("alice", SERVICE, List.of()).token();

        assertThatThrownBy(() -> rsaOnly.validate(ecToken))
                .isInstanceOfSatisfying(InvalidTokenException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.ALGORITHM_REFUSED));
    }

    @Test
    void algorithmThatDoesNotFitTheKeyIsRefused() throws Exception {
        // An RS256 header over the x5c of an EC signer: whatever the signature, the key cannot verify RS256.
        String forged = sign(x5cHeaderWith(JWSAlgorithm.RS256, EC_SIGNER), claims().build(),
                new Identity(TestPki.rsa(), List.of()));

        assertRefused(forged, Reason.ALGORITHM_REFUSED);
    }

    @Test
    void ecAlgorithmForAnotherCurveIsRefused() throws Exception {
        // ES384 claimed for a P-256 key.
        Identity p384 = new Identity(TestPki.ec("secp384r1"), List.of());
        String forged = sign(x5cHeaderWith(JWSAlgorithm.ES384, EC_SIGNER), claims().build(), p384);

        assertRefused(forged, Reason.ALGORITHM_REFUSED);
    }

    @Test
    void tamperedPayloadIsRefused() {
        String token = issuer(EC_SIGNER).issue("alice", SERVICE,
                List.of(Scope.repository("team/app", Action.PULL))).token();
        String[] parts = token.split("\\.");
        String payload = new String(new Base64URL(parts[1]).decode(), StandardCharsets.UTF_8)
                .replace("\"pull\"", "\"pull\",\"push\",\"delete\"");
        assertThat(payload).contains("delete");

        assertRefused(parts[0] + "." + b64(payload) + "." + parts[2], Reason.BAD_SIGNATURE);
    }

    @Test
    void tamperedHeaderIsRefused() {
        String token = issuer(EC_SIGNER).issue("alice", SERVICE, List.of()).token();
        String[] parts = token.split("\\.");
        String header = new String(new Base64URL(parts[0]).decode(), StandardCharsets.UTF_8)
                .replace("\"typ\":\"JWT\"", "\"typ\":\"JWT\",\"cty\":\"x\"");

        assertRefused(b64(header) + "." + parts[1] + "." + parts[2], Reason.BAD_SIGNATURE);
    }

    @Test
    void tokenForAnotherRepositoryDoesNotGrantThisOne() throws Exception {
        String token = issuer(EC_SIGNER).issue("alice", SERVICE,
                List.of(Scope.repository("team/other", Action.PULL, Action.PUSH))).token();

        ValidatedToken validated = validator.validate(token);

        assertThat(validated.access()).containsExactly(Scope.repository("team/other", Action.PULL, Action.PUSH));
        assertThat(validated.access()).extracting(Scope::name).doesNotContain("team/app");
        assertThat(validated.grants(Scope.repository("team/app", Action.PULL))).isFalse();
        assertThat(validated.grants(Scope.repository("team/other", Action.PULL))).isTrue();
        assertThat(validated.grants(Scope.repository("team/other", Action.DELETE))).isFalse();
    }

    @Test
    void unknownActionsAreDropped() throws Exception {
        JWTClaimsSet claims = claims().claim("access", List.of(
                Map.of("type", "repository", "name", "team/app", "actions", List.of("pull", "frobnicate", "push")),
                Map.of("type", "repository", "name", "team/ghost", "actions", List.of("own")))).build();

        ValidatedToken token = validator.validate(sign(x5cHeader(EC_SIGNER), claims, EC_SIGNER));

        assertThat(token.access()).containsExactly(Scope.repository("team/app", Action.PULL, Action.PUSH));
    }

    @Test
    void entriesForTheSameRepositoryAreMerged() throws Exception {
        JWTClaimsSet claims = claims().claim("access", List.of(
                Map.of("type", "repository", "name", "team/app", "actions", List.of("pull")),
                Map.of("type", "repository", "class", "image", "name", "team/app", "actions", List.of("push"))))
                .build();

        ValidatedToken token = validator.validate(sign(x5cHeader(EC_SIGNER), claims, EC_SIGNER));

        assertThat(token.access()).containsExactly(Scope.repository("team/app", Action.PULL, Action.PUSH));
    }

    @Test
    void wildcardActionGrantsEveryActionOnItsResource() throws Exception {
        JWTClaimsSet claims = claims().claim("access", List.of(
                Map.of("type", "repository", "name", "team/app", "actions", List.of("*")))).build();

        ValidatedToken token = validator.validate(sign(x5cHeader(EC_SIGNER), claims, EC_SIGNER));

        assertThat(token.grants(Scope.repository("team/app", Action.PULL, Action.PUSH, Action.DELETE))).isTrue();
        assertThat(token.grants(Scope.repository("team/app2", Action.PULL))).isFalse();
    }

    @Test
    void accessClaimOfTheWrongShapeIsRefused() throws Exception {
        JWTClaimsSet claims = claims().claim("access", Map.of("type", "repository")).build();

        assertRefused(sign(x5cHeader(EC_SIGNER), claims, EC_SIGNER), Reason.MALFORMED);
    }

    @Test
    void garbageIsRefused() {
        for (String garbage : List.of("", "abc", "a.b", "a.b.c", "a.b.c.d.e", "...", "eyJhbGciOiJFUzI1NiJ9..")) {
            assertThatThrownBy(() -> validator.validate(garbage)).as(garbage)
                    .isInstanceOfSatisfying(InvalidTokenException.class,
                            e -> assertThat(e.reason()).isIn(Reason.MALFORMED, Reason.UNTRUSTED_KEY));
        }
    }

    @Test
    void oversizedTokenIsRefusedBeforeDecoding() throws Exception {
        JWTClaimsSet claims = claims().claim("padding", "x".repeat(TokenValidator.MAX_TOKEN_LENGTH)).build();

        assertRefused(sign(x5cHeader(EC_SIGNER), claims, EC_SIGNER), Reason.MALFORMED);
    }
}
