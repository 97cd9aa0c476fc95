package io.berth.auth.token;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jose.util.Base64URL;
import io.berth.auth.token.InvalidTokenException.Reason;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The keys a token may be signed with, and the three ways distribution lets a token header name one: an {@code x5c}
 * chain to a root certificate, an embedded {@code jwk} that is itself trusted, or a {@code kid}.
 *
 * <p>A {@code kid} is looked up among the JWKS keys by their {@code kid}, and among the root certificates' keys by
 * their libtrust key ID (registry:2 2.x) and their JWK thumbprint (registry 3.x). The keys behind {@code jku} and
 * {@code x5u} URLs are never fetched.
 */
final class TrustedKeys {
    /** The most certificates an {@code x5c} may carry; real chains have two or three. */
    static final int MAX_CHAIN = 10;

    private final List<X509Certificate> roots;
    private final Set<TrustAnchor> anchors;
    private final Map<String, PublicKey> byKeyId;
    private final Set<String> trusted;

    TrustedKeys(List<X509Certificate> roots, @Nullable JWKSet jwks) {
        this.roots = List.copyOf(roots);
        Set<TrustAnchor> anchors = new HashSet<>();
        Map<String, PublicKey> byKeyId = new HashMap<>();
        Set<String> trusted = new HashSet<>();
        for (X509Certificate root : roots) {
            anchors.add(new TrustAnchor(root, null));
            PublicKey key = root.getPublicKey();
            trusted.add(encoded(key));
            byKeyId.put(TokenKeys.libtrustKeyId(key), key);
            for (String thumbprint : thumbprints(key)) {
                byKeyId.put(thumbprint, key);
            }
        }
        if (jwks != null) {
            // As in distribution, a JWKS key wins a kid that a root certificate's key also answers to.
            for (JWK jwk : jwks.getKeys()) {
                PublicKey key;
                try {
                    key = Jws.publicKey(jwk);
                } catch (JOSEException e) {
                    throw new IllegalArgumentException("JWKS key " + jwk.getKeyID() + ": " + e.getMessage(), e);
                }
                trusted.add(encoded(key));
                if (jwk.getKeyID() != null && !jwk.getKeyID().isEmpty()) {
                    byKeyId.put(jwk.getKeyID(), key);
                }
            }
        }
        this.anchors = Set.copyOf(anchors);
        this.byKeyId = Map.copyOf(byKeyId);
        this.trusted = Set.copyOf(trusted);
    }

    boolean isEmpty() {
        return trusted.isEmpty();
    }

    /** The trusted key a {@code kid} header names, or null. */
    @Nullable PublicKey byKeyId(String kid) {
        return byKeyId.get(kid);
    }

    /** The key of an embedded {@code jwk} header, if it is trusted: by its own {@code x5c}, or as a configured key. */
    PublicKey embedded(JWK jwk, Instant at) throws InvalidTokenException {
        PublicKey key;
        try {
            key = Jws.publicKey(jwk);
        } catch (JOSEException e) {
            throw new InvalidTokenException(Reason.UNTRUSTED_KEY, "the jwk header: " + e.getMessage());
        }
        List<Base64> chain = jwk.getX509CertChain();
        if (chain != null && !chain.isEmpty()) {
            PublicKey leaf = chain(chain, at);
            if (!encoded(leaf).equals(encoded(key))) {
                throw new InvalidTokenException(Reason.UNTRUSTED_KEY,
                        "the jwk header's key is not the key of its own certificate chain");
            }
            return leaf;
        }
        if (!trusted.contains(encoded(key))) {
            throw new InvalidTokenException(Reason.UNTRUSTED_KEY,
                    "the jwk header embeds a key that is neither a root certificate's key nor in the JWKS");
        }
        return key;
    }

    /**
     * The leaf's public key, once the chain (leaf first, then intermediates in any order) leads to a root certificate
     * and every certificate on the path is valid at {@code at}. Revocation is not checked, as in distribution.
     */
    PublicKey chain(List<Base64> x5c, Instant at) throws InvalidTokenException {
        if (x5c.size() > MAX_CHAIN) {
            throw new InvalidTokenException(Reason.MALFORMED, "x5c holds " + x5c.size() + " certificates; at most "
                    + MAX_CHAIN + " are read");
        }
        List<X509Certificate> chain = new ArrayList<>(x5c.size());
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (Base64 der : x5c) {
                chain.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der.decode())));
            }
        } catch (CertificateException | ClassCastException e) {
            throw new InvalidTokenException(Reason.MALFORMED, "x5c certificate " + (chain.size() + 1)
                    + " does not parse");
        }
        if (roots.isEmpty()) {
            throw new InvalidTokenException(Reason.UNTRUSTED_KEY,
                    "the token carries x5c, but no root certificate is configured");
        }
        X509Certificate leaf = chain.get(0);
        Date when = Date.from(at);
        try {
            if (roots.contains(leaf)) {
                // The signing certificate is itself a root (a self-signed token server certificate, as docker_auth
                // setups often have): trusted as it is, while it is valid.
                leaf.checkValidity(when);
                return leaf.getPublicKey();
            }
            X509CertSelector target = new X509CertSelector();
            target.setCertificate(leaf);
            PKIXBuilderParameters params = new PKIXBuilderParameters(anchors, target);
            params.setRevocationEnabled(false);
            params.setDate(when);
            params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(chain)));
            CertPathBuilder.getInstance("PKIX").build(params);
            return leaf.getPublicKey();
        } catch (GeneralSecurityException e) {
            throw new InvalidTokenException(Reason.UNTRUSTED_KEY, "the x5c chain of "
                    + InvalidTokenException.printable(leaf.getSubjectX500Principal())
                    + " does not lead to a trusted root certificate at " + at + ": " + e.getMessage());
        }
    }

    /**
     * The JWK thumbprints distribution 3.x files a root certificate's key under: RFC 7638's, and for EC keys also
     * the variant distribution computes with leading zero bytes of the coordinates dropped.
     */
    static Set<String> thumbprints(PublicKey key) {
        JWK jwk;
        try {
            jwk = Jws.jwk(key);
        } catch (IllegalArgumentException e) {
            return Set.of(); // a kind of key no token can be signed with; distribution skips it too
        }
        Set<String> out = new HashSet<>();
        try {
            out.add(jwk.computeThumbprint().toString());
        } catch (JOSEException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
        if (key instanceof ECPublicKey ec) {
            Curve curve = Curve.forECParameterSpec(ec.getParams());
            String json = "{\"crv\":\"" + curve.getName() + "\",\"kty\":\"EC\",\"x\":\""
                    + Base64URL.encode(unsigned(ec.getW().getAffineX())) + "\",\"y\":\""
                    + Base64URL.encode(unsigned(ec.getW().getAffineY())) + "\"}";
            out.add(Base64URL.encode(sha256(json.getBytes(StandardCharsets.UTF_8))).toString());
        }
        return out;
    }

    private static byte[] unsigned(BigInteger value) {
        byte[] bytes = value.toByteArray();
        int leadingZeros = 0;
        while (leadingZeros < bytes.length && bytes[leadingZeros] == 0) {
            leadingZeros++;
        }
        return Arrays.copyOfRange(bytes, leadingZeros, bytes.length);
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    private static String encoded(PublicKey key) {
        return java.util.Base64.getEncoder().encodeToString(key.getEncoded());
    }
}
