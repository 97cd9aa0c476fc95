package io.berth.server.http;

import static io.berth.server.http.HttpFixture.assertError;
import static io.berth.server.http.HttpFixture.header;
import static io.berth.server.http.HttpFixture.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

/** tags/list and _catalog over HTTP: order, n and last, and the Link header. Owns its server, so it knows every repository. */
class RegistryHttpListingTest extends SharedBerthTest {
    private static final Pattern NEXT = Pattern.compile("<([^>]+)>; rel=\"next\"");
    private static final List<String> REPOS = List.of("b", "a-b", "a.b", "a/b", "a");

    @BeforeAll
    static void seed() {
        for (String repo : REPOS) {
            http.pushImage(repo, "seed " + repo, "latest");
        }
        HttpFixture.Manifest m = http.pushImage("tagged", "seed", "a");
        for (String tag : List.of("e", "B", "c", "10", "9", "d")) {
            http.putManifest("tagged", tag, json(m.content()).deepCopy());
        }
    }

    @Test
    void tagsAreListedInRegistry2Order() {
        HttpResponse<byte[]> r = http.get("/v2/tagged/tags/list");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(header(r, "Content-Type")).startsWith("application/json");
        JsonNode body = json(r.body());
        assertThat(body.get("name").asText()).isEqualTo("tagged");
        assertThat(texts(body.get("tags"))).containsExactly("10", "9", "B", "a", "c", "d", "e");
        assertThat(r.headers().firstValue("Link")).isEmpty();
    }

    @Test
    void tagPagesFollowTheLinkHeaderToTheEnd() {
        List<String> seen = new ArrayList<>();
        String next = "/v2/tagged/tags/list?n=3";
        int pages = 0;
        while (next != null) {
            HttpResponse<byte[]> r = http.get(next);
            assertThat(r.statusCode()).isEqualTo(200);
            List<String> page = texts(json(r.body()).get("tags"));
            assertThat(page.size()).isLessThanOrEqualTo(3);
            seen.addAll(page);
            next = r.headers().firstValue("Link").map(RegistryHttpListingTest::nextUrl).orElse(null);
            pages++;
        }

        assertThat(seen).containsExactly("10", "9", "B", "a", "c", "d", "e");
        assertThat(pages).isEqualTo(3);
    }

    @Test
    void tagLinkHeaderCarriesNAndLast() {
        HttpResponse<byte[]> r = http.get("/v2/tagged/tags/list?n=2");

        assertThat(texts(json(r.body()).get("tags"))).containsExactly("10", "9");
        assertThat(header(r, "Link")).matches("<.*/v2/tagged/tags/list\\?n=2&last=9>; rel=\"next\"");
    }

    @Test
    void tagsAfterLast() {
        assertThat(texts(json(http.get("/v2/tagged/tags/list?last=a").body()).get("tags"))).containsExactly("c", "d", "e");
        assertThat(texts(json(http.get("/v2/tagged/tags/list?last=e").body()).get("tags"))).isEmpty();
        assertThat(texts(json(http.get("/v2/tagged/tags/list?n=1&last=c").body()).get("tags"))).containsExactly("d");
    }

    @Test
    void lastPageHasNoLinkHeader() {
        HttpResponse<byte[]> r = http.get("/v2/tagged/tags/list?n=7");

        assertThat(texts(json(r.body()).get("tags"))).hasSize(7);
        assertThat(r.headers().firstValue("Link")).isEmpty();
    }

    @Test
    void tagsOfAnUnknownRepositoryIsNameUnknown() {
        assertError(http.get("/v2/nowhere/tags/list"), 404, "NAME_UNKNOWN");
    }

    @Test
    void invalidPageSizeIsPaginationNumberInvalid() {
        assertError(http.get("/v2/tagged/tags/list?n=-1"), 400, "PAGINATION_NUMBER_INVALID");
        assertError(http.get("/v2/tagged/tags/list?n=abc"), 400, "PAGINATION_NUMBER_INVALID");
        assertError(http.get("/v2/_catalog?n=1.5"), 400, "PAGINATION_NUMBER_INVALID");
    }

    @Test
    void pageSizeZeroIsAnEmptyPage() {
        HttpResponse<byte[]> tags = http.get("/v2/tagged/tags/list?n=0");
        HttpResponse<byte[]> catalog = http.get("/v2/_catalog?n=0");

        assertThat(tags.statusCode()).isEqualTo(200);
        assertThat(texts(json(tags.body()).get("tags"))).isEmpty();
        assertThat(catalog.statusCode()).isEqualTo(200);
        assertThat(texts(json(catalog.body()).get("repositories"))).isEmpty();
    }

    @Test
    void catalogOrdersNamesComponentWiseLikeRegistry2() {
        HttpResponse<byte[]> r = http.get("/v2/_catalog");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(texts(json(r.body()).get("repositories"))).containsExactly("a", "a/b", "a-b", "a.b", "b", "tagged");
        assertThat(r.headers().firstValue("Link")).isEmpty();
    }

    @Test
    void catalogPagesFollowTheLinkHeader() {
        HttpResponse<byte[]> first = http.get("/v2/_catalog?n=2");
        assertThat(texts(json(first.body()).get("repositories"))).containsExactly("a", "a/b");
        assertThat(header(first, "Link")).matches("<.*/v2/_catalog\\?n=2&last=a%2Fb>; rel=\"next\"");

        HttpResponse<byte[]> second = http.get(nextUrl(header(first, "Link")));
        assertThat(texts(json(second.body()).get("repositories"))).containsExactly("a-b", "a.b");

        HttpResponse<byte[]> third = http.get(nextUrl(header(second, "Link")));
        assertThat(texts(json(third.body()).get("repositories"))).containsExactly("b", "tagged");
        assertThat(third.headers().firstValue("Link")).isEmpty();
    }

    @Test
    void catalogAfterLast() {
        assertThat(texts(json(http.get("/v2/_catalog?last=a").body()).get("repositories")))
                .containsExactly("a/b", "a-b", "a.b", "b", "tagged");
        assertThat(texts(json(http.get("/v2/_catalog?last=tagged").body()).get("repositories"))).isEmpty();
    }

    @Test
    void baseEndpointAnswersWithAnEmptyObject() {
        HttpResponse<byte[]> r = http.get("/v2/");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(header(r, "Docker-Distribution-API-Version")).isEqualTo("registry/2.0");
        assertThat(json(r.body()).isEmpty()).isTrue();
        assertThat(http.get("/v2").statusCode()).isEqualTo(200);
        assertThat(http.head("/v2/").statusCode()).isEqualTo(200);
    }

    private static String nextUrl(String link) {
        Matcher m = NEXT.matcher(link);
        assertThat(m.matches()).as("Link header %s", link).isTrue();
        return m.group(1);
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
