package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.server.http.Route.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RouteTest {
    private static final String DIGEST = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    @Test
    void rootIsRegistry2LivenessProbe() {
        assertRoute("/", Kind.ROOT, null, "");
    }

    @Test
    void baseWithAndWithoutTrailingSlash() {
        assertRoute("/v2/", Kind.BASE, null, "");
        assertRoute("/v2", Kind.BASE, null, "");
    }

    @Test
    void catalog() {
        assertRoute("/v2/_catalog", Kind.CATALOG, null, "");
    }

    @Test
    void tagsList() {
        assertRoute("/v2/library/ubuntu/tags/list", Kind.TAGS, "library/ubuntu", "");
    }

    @Test
    void manifestByTagAndByDigest() {
        assertRoute("/v2/app/manifests/latest", Kind.MANIFEST, "app", "latest");
        assertRoute("/v2/team/app/manifests/" + DIGEST, Kind.MANIFEST, "team/app", DIGEST);
    }

    @Test
    void blob() {
        assertRoute("/v2/team/app/blobs/" + DIGEST, Kind.BLOB, "team/app", DIGEST);
    }

    @Test
    void uploadsCollectionWithAndWithoutTrailingSlash() {
        assertRoute("/v2/team/app/blobs/uploads/", Kind.UPLOADS, "team/app", "");
        assertRoute("/v2/team/app/blobs/uploads", Kind.UPLOADS, "team/app", "");
    }

    @Test
    void singleUpload() {
        assertRoute("/v2/team/app/blobs/uploads/0c5e5f16-3a4c-4bd8", Kind.UPLOAD, "team/app", "0c5e5f16-3a4c-4bd8");
    }

    @Test
    void referrers() {
        assertRoute("/v2/team/app/referrers/" + DIGEST, Kind.REFERRERS, "team/app", DIGEST);
    }

    @Test
    void namesMayContainEndpointWordsAsComponents() {
        assertRoute("/v2/blobs/blobs/" + DIGEST, Kind.BLOB, "blobs", DIGEST);
        assertRoute("/v2/manifests/manifests/latest", Kind.MANIFEST, "manifests", "latest");
        assertRoute("/v2/a/manifests/b/manifests/latest", Kind.MANIFEST, "a/manifests/b", "latest");
        assertRoute("/v2/a/blobs/b/blobs/" + DIGEST, Kind.BLOB, "a/blobs/b", DIGEST);
        assertRoute("/v2/blobs/uploads/blobs/uploads/", Kind.UPLOADS, "blobs/uploads", "");
        assertRoute("/v2/blobs/uploads/blobs/uploads/abc", Kind.UPLOAD, "blobs/uploads", "abc");
        assertRoute("/v2/tags/tags/list", Kind.TAGS, "tags", "");
        assertRoute("/v2/referrers/referrers/" + DIGEST, Kind.REFERRERS, "referrers", DIGEST);
        assertRoute("/v2/a/tags/list/manifests/v1", Kind.MANIFEST, "a/tags/list", "v1");
        assertRoute("/v2/v2/manifests/v2", Kind.MANIFEST, "v2", "v2");
    }

    @Test
    void referenceIsLeftRawForTheEndpointToValidate() {
        assertRoute("/v2/app/manifests/..", Kind.MANIFEST, "app", "..");
        assertRoute("/v2/app/blobs/uploads/..", Kind.UPLOAD, "app", "..");
        assertRoute("/v2/app/blobs/not-a-digest", Kind.BLOB, "app", "not-a-digest");
        assertRoute("/v2/app/manifests/%2e%2e", Kind.MANIFEST, "app", "%2e%2e");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "//", "/v1/", "/v2x", "/v2/app", "/v2/app/", "/v2/app/manifests", "/v2/app/manifests/",
            "/v2/app/blobs/", "/v2/app/tags/", "/v2/app/tags/other", "/v2/app/tags/list/", "/v2/app/unknown/x",
            "/v2/_catalog/", "/v2/manifests/latest", "/v2/blobs/uploads", "/v2//manifests/x", "/v2/app/blobs/uploads//",
            "/v3/app/manifests/latest", "v2/app/manifests/latest", "/V2/app/manifests/latest", "/debug/health", "/metrics"})
    void pathsThatAreNoEndpointAreNone(String path) {
        assertThat(Route.parse(path)).isEqualTo(Route.NONE);
        assertThat(Route.parse(path).kind()).isEqualTo(Kind.NONE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v2/App/manifests/latest", "/v2/../etc/manifests/latest", "/v2/a/../b/manifests/latest",
            "/v2/a%2Fb/manifests/latest", "/v2/a%2fb/blobs/" + DIGEST, "/v2/%2e%2e/tags/list", "/v2/a//b/manifests/x",
            "/v2/a/%2e%2e/blobs/uploads/", "/v2/./app/manifests/x", "/v2/a%00/manifests/x", "/v2/a\\b/manifests/x",
            "/v2/_hidden/manifests/x", "/v2/a/_manifests/manifests/x"})
    void encodedOrMaliciousNamesAreNameInvalid(String path) {
        assertThatThrownBy(() -> Route.parse(path))
                .isInstanceOfSatisfying(HttpError.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.NAME_INVALID);
                    assertThat(e.status().code()).isEqualTo(400);
                });
    }

    @Test
    void overlongNameIsNameInvalid() {
        String name = "a".repeat(128) + "/" + "b".repeat(127);

        assertThatThrownBy(() -> Route.parse("/v2/" + name + "/manifests/latest"))
                .isInstanceOfSatisfying(HttpError.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NAME_INVALID));
        assertThat(Route.parse("/v2/" + name.substring(1) + "/manifests/latest").name()).isNotNull();
    }

    @Test
    void repositoryOfARouteWithoutOneIsAProgrammingError() {
        assertThatThrownBy(() -> Route.parse("/v2/_catalog").repository()).isInstanceOf(IllegalStateException.class);
        assertThat(Route.parse("/v2/app/tags/list").repository().value()).isEqualTo("app");
    }

    private static void assertRoute(String path, Kind kind, String name, String reference) {
        Route r = Route.parse(path);
        assertThat(r.kind()).as("kind of %s", path).isEqualTo(kind);
        assertThat(r.name() == null ? null : r.name().value()).as("name of %s", path).isEqualTo(name);
        assertThat(r.reference()).as("reference of %s", path).isEqualTo(reference);
    }
}
