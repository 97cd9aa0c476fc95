package io.berth.junit;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** The few plain HTTP calls these tests make to a registry. */
final class Http {
    private static final HttpClient PLAIN = HttpClient.newHttpClient();

    private Http() {}

    static int status(TestRegistry registry, String method, String path) throws IOException, InterruptedException {
        HttpClient client = registry.tls() ? HttpClient.newBuilder().sslContext(registry.sslContext()).build() : PLAIN;
        return send(client, method, registry.url().resolve(path)).statusCode();
    }

    static HttpResponse<String> send(HttpClient client, String method, URI uri) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(uri).method(method, HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(TestRegistry registry, String path) throws IOException, InterruptedException {
        return send(PLAIN, "GET", registry.url().resolve(path));
    }
}
