package io.berth.testing;

import java.nio.charset.StandardCharsets;

/** The AdmissionReview the API server sends Berth's webhook when a pod is created, for tests that play the API server. */
public final class PodReviews {
    private PodReviews() {}

    /**
     * {@code admission.k8s.io/v1} AdmissionReview, as UTF-8 JSON, asking whether a pod whose one container, {@code app},
     * runs {@code image} may be created.
     */
    public static byte[] create(String uid, String image) {
        return """
                {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"%s",\
                "kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE",\
                "object":{"spec":{"containers":[{"name":"app","image":"%s"}]}}}}"""
                .formatted(plain(uid), plain(image)).getBytes(StandardCharsets.UTF_8);
    }

    private static String plain(String s) {
        if (s.chars().anyMatch(c -> c == '"' || c == '\\' || c < 0x20)) {
            throw new IllegalArgumentException("not a plain JSON string: " + s);
        }
        return s;
    }
}
