package io.berth.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The route table's javadoc is the table: every row it shows is an entry, with the same access, and no entry is missing. */
class RouteTableTest {
    private static final Pattern ROW = Pattern.compile(
            "<tr><td>(.+?)</td><td>(.+?)</td><td>(.+?)</td><td>.+?</td><td>.+?</td></tr>");
    private static final String DIGEST = "sha256:" + "a".repeat(64);

    @Test
    void javadocRowsAreExactlyTheRouteTable() throws IOException {
        String source = Files.readString(Path.of("src/main/java/io/berth/server/http/Endpoints.java"));
        Set<String> documented = new HashSet<>();
        Matcher row = ROW.matcher(source);
        while (row.find()) {
            Route.Kind kind = kindOf(row.group(1));
            for (String method : row.group(2).split(", ")) {
                Endpoints.Entry entry = Endpoints.find(kind, HttpMethod.valueOf(method));
                assertThat(entry).as("the javadoc's %s %s is in the table", method, row.group(1)).isNotNull();
                assertThat(row.group(3)).as("access of %s %s", method, row.group(1))
                        .startsWith(entry.access().name().toLowerCase(Locale.ROOT));
                documented.add(method + " " + kind);
            }
        }
        Set<String> table = new HashSet<>();
        for (Endpoints.Entry e : Endpoints.ROUTES) {
            table.add(e.method() + " " + e.kind());
        }
        assertThat(documented).isEqualTo(table);
    }

    /** The route a documented path parses to: the documented paths are real ones. */
    private static Route.Kind kindOf(String documented) {
        if (documented.contains("auth.token.realm")) {
            return Route.Kind.TOKEN;
        }
        String path = documented.replace("&lt;name&gt;", "team/app").replace("&lt;digest&gt;", DIGEST)
                .replace("&lt;reference&gt;", "latest").replace("&lt;id&gt;", "0d5c1f0e");
        Route.Kind kind = Route.parse(path).kind();
        assertThat(kind).as(documented).isNotEqualTo(Route.Kind.NONE);
        return kind;
    }
}
