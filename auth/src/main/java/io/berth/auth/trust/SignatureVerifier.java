package io.berth.auth.trust;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the cosign signatures and attestations found for one image digest against a rule of the trust policy.
 *
 * <p>Three formats are read, by layer media type, wherever the manifest carrying them was found (a {@code .sig} or
 * {@code .att} tag, or a referrer):
 * <ul>
 *   <li>{@code application/vnd.dev.cosign.simplesigning.v1+json}: cosign's legacy signature. The base64 signature in
 *       the layer annotation {@code dev.cosignproject.cosign/signature} must be over the layer's exact bytes, by a key
 *       of the rule, and the payload's {@code critical.type} must be {@code cosign container image signature} and its
 *       {@code critical.image.docker-manifest-digest} exactly the image digest. Proves a signature.
 *   <li>{@code application/vnd.dsse.envelope.v1+json}: cosign's legacy attestation, a DSSE envelope signed over its
 *       pre-authentication encoding, holding an in-toto statement one of whose subjects has exactly the image's
 *       digest. Proves an attestation of the statement's predicate type (a signature for cosign v3's
 *       {@value Claim#COSIGN_SIGN_PREDICATE}).
 *   <li>{@code application/vnd.dev.sigstore.bundle.v0.3+json}: a sigstore bundle as cosign v3 writes it, holding
 *       such a DSSE envelope, or a message signature over the image digest (a signature).
 * </ul>
 * Layers of other media types are passed over. What a claim is comes only from signed content, never from
 * annotations or artifact types, which anyone who may push can write.
 *
 * <p>Nothing from an artifact makes this throw: a manifest or layer that cannot be parsed, is too large, has a bad
 * digest, bad base64, a signature by another key or about another digest is a {@link Rejection} with a reason.
 * Only the {@link BlobReader}'s own {@link IOException} reaches the caller. Stateless and thread-safe.
 */
public final class SignatureVerifier {
    private static final Logger LOG = LoggerFactory.getLogger(SignatureVerifier.class);
    /** The largest manifest read; registry:2 and Berth take no larger manifest. */
    public static final int MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
    /**
     * The default largest layer read: more than any signature or bundle, and room for the SBOM attestations of
     * large images. The verifier holds a layer and its decoded payload in memory while it checks it.
     */
    public static final int DEFAULT_MAX_LAYER_BYTES = 16 * 1024 * 1024;

    private final int maxLayerBytes;

    private SignatureVerifier(int maxLayerBytes) {
        this.maxLayerBytes = maxLayerBytes;
    }

    /** A verifier that reads layers of up to {@value #DEFAULT_MAX_LAYER_BYTES} bytes. */
    public static SignatureVerifier create() {
        return new SignatureVerifier(DEFAULT_MAX_LAYER_BYTES);
    }

    /** A verifier that reads layers of up to {@code maxLayerBytes} bytes; larger layers are refused unread. */
    public static SignatureVerifier withMaxLayerBytes(int maxLayerBytes) {
        if (maxLayerBytes < 1024) {
            throw new IllegalArgumentException("the layer limit must be at least 1024 bytes, not " + maxLayerBytes);
        }
        return new SignatureVerifier(maxLayerBytes);
    }

    /** The largest layer read, in bytes. */
    public int maxLayerBytes() {
        return maxLayerBytes;
    }

    /**
     * Checks every artifact found for {@code subject} against the rule.
     *
     * @param subject the image (or index) digest, {@code sha256:} and 64 lowercase hex digits; any other string
     *     gives a verdict with nothing verified
     * @param rule the rule that applies to the image's repository, from {@link TrustPolicy#rule}
     * @param artifacts the signature manifests found for the subject, in any order
     * @param blobs where the layers are read from; only layers of the three media types are read
     * @throws IOException only when {@code blobs} throws it
     */
    public Verdict verify(String subject, PolicyRule rule, List<Artifact> artifacts, BlobReader blobs)
            throws IOException {
        List<VerifiedClaim> verified = new ArrayList<>();
        List<Rejection> rejected = new ArrayList<>();
        if (!Digests.isValid(subject)) {
            for (Artifact artifact : artifacts) {
                rejected.add(new Rejection(artifact.digest(), "the image digest " + Text.quote(subject)
                        + " is not a valid digest"));
            }
            return new Verdict(subject, rule, verified, rejected);
        }
        for (Artifact artifact : artifacts) {
            try {
                check(subject, rule, artifact, blobs, verified, rejected);
            } catch (Refusal refusal) {
                rejected.add(new Rejection(artifact.digest(), refusal.getMessage()));
            } catch (RuntimeException e) {
                // fails closed; no input should get here, so it is worth a warning
                LOG.warn("artifact {} for {} could not be checked", Digests.describe(artifact.digest()), subject, e);
                rejected.add(new Rejection(artifact.digest(), "could not be checked (" + e.getClass().getSimpleName()
                        + ")"));
            }
        }
        return new Verdict(subject, rule, verified, rejected);
    }

    private void check(String subject, PolicyRule rule, Artifact artifact, BlobReader blobs,
            List<VerifiedClaim> verified, List<Rejection> rejected) throws Refusal, IOException {
        if (!Digests.isValid(artifact.digest())) {
            throw new Refusal("the manifest's digest is not a valid digest");
        }
        byte[] content = artifact.manifest();
        if (content.length > MAX_MANIFEST_BYTES) {
            throw new Refusal("the manifest has " + content.length + " bytes; at most " + MAX_MANIFEST_BYTES
                    + " are read");
        }
        if (!Digests.matches(artifact.digest(), content)) {
            throw new Refusal("the manifest's bytes do not hash to its digest");
        }
        Manifest manifest = Manifest.parse(content);
        if (manifest.subject() != null && !manifest.subject().equals(subject)) {
            throw new Refusal("the manifest's subject is " + Digests.describe(manifest.subject()) + ", not "
                    + subject);
        }
        int found = 0;
        for (Manifest.Layer layer : manifest.layers()) {
            Format format = Format.of(layer.mediaType());
            if (format == null) {
                continue;
            }
            found++;
            try {
                byte[] bytes = read(layer, blobs);
                Dsse.Proof proof = switch (format) {
                    case SIMPLE_SIGNING -> new Dsse.Proof(Claim.signature(),
                            SimpleSigning.check(layer, bytes, subject, rule));
                    case DSSE -> Dsse.check(Dsse.parse(StrictJson.object(bytes, "the envelope"), "the envelope"),
                            subject, rule);
                    case BUNDLE -> Bundles.check(bytes, subject, rule);
                };
                verified.add(new VerifiedClaim(proof.claim(), proof.key(), artifact.digest(), layer.index()));
            } catch (Refusal refusal) {
                rejected.add(new Rejection(artifact.digest(), "layer " + layer.index() + ": " + refusal.getMessage()));
            }
        }
        if (found == 0) {
            throw new Refusal("holds no cosign signature, attestation or sigstore bundle layer");
        }
    }

    private byte[] read(Manifest.Layer layer, BlobReader blobs) throws Refusal, IOException {
        if (layer.size() > maxLayerBytes) {
            throw new Refusal("has " + layer.size() + " bytes; at most " + maxLayerBytes + " are read");
        }
        byte[] bytes = blobs.read(layer.digest(), layer.size());
        if (bytes == null) {
            throw new Refusal("its blob " + layer.digest() + " is not in the registry");
        }
        if (bytes.length != layer.size() || !Digests.matches(layer.digest(), bytes)) {
            throw new Refusal("its blob does not match the layer's digest and size");
        }
        return bytes;
    }

    private enum Format {
        SIMPLE_SIGNING,
        DSSE,
        BUNDLE;

        static @Nullable Format of(String mediaType) {
            if (mediaType.equals(SimpleSigning.MEDIA_TYPE)) {
                return SIMPLE_SIGNING;
            }
            if (mediaType.equals(Dsse.MEDIA_TYPE)) {
                return DSSE;
            }
            return Bundles.isBundle(mediaType) ? BUNDLE : null;
        }
    }

    @Override
    public String toString() {
        return "SignatureVerifier[layers up to " + maxLayerBytes + " bytes]";
    }
}
