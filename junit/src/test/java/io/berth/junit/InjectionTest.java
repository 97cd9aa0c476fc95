package io.berth.junit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.junit.BerthRegistry.Lifecycle;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** Where @BerthRegistry injects: static and instance fields, parameters of tests and lifecycle methods, nested classes. */
@BerthRegistry
class InjectionTest {
    static TestRegistry staticField;
    /** Not a TestRegistry field: the extension would set that one itself. */
    static Object seenInBeforeAll;

    TestRegistry field;

    @BerthRegistry(lifecycle = Lifecycle.PER_METHOD)
    TestRegistry perMethodField;

    @BeforeAll
    static void beforeAll(TestRegistry registry) {
        seenInBeforeAll = registry;
    }

    @Test
    void fieldsAndParametersWithoutOptionsShareTheClassRegistry(TestRegistry parameter) throws Exception {
        assertThat(parameter).isSameAs(field).isSameAs(staticField).isSameAs(seenInBeforeAll);
        assertThat(Http.status(parameter, "GET", "/v2/")).isEqualTo(200);
    }

    @Test
    void theHandleNamesTheLoopbackAddressItListensOn(TestRegistry registry) {
        int port = registry.port();
        assertThat(port).isPositive();
        assertThat(registry.host()).isEqualTo("127.0.0.1:" + port);
        assertThat(registry.url()).isEqualTo(URI.create("http://127.0.0.1:" + port));
        assertThat(registry.imageReference("team/app", "1.0")).isEqualTo("127.0.0.1:" + port + "/team/app:1.0");
        assertThat(registry.tls()).isFalse();
        assertThat(registry.caCertificate()).isEmpty();
        assertThatThrownBy(registry::sslContext).isInstanceOf(IllegalStateException.class).hasMessageContaining("tls = true");
        assertThat(registry.storageDirectory()).isDirectory();
        assertThat(registry.berth().storageDirectory()).isEqualTo(registry.storageDirectory());
    }

    @Test
    void aPerMethodRegistryIsAnotherOneSharedByTheMethodsFieldAndParameter(
            @BerthRegistry(lifecycle = Lifecycle.PER_METHOD) TestRegistry own, TestRegistry shared) throws Exception {
        assertThat(own).isSameAs(perMethodField).isNotSameAs(shared);
        assertThat(own.port()).isNotEqualTo(shared.port());
        assertThat(own.storageDirectory()).isNotEqualTo(shared.storageDirectory());
        assertThat(Http.status(own, "GET", "/v2/")).isEqualTo(200);
    }

    @Test
    void withTlsItServesHttpsThatOnlyItsOwnCaVouchesFor(@BerthRegistry(tls = true) TestRegistry secure) throws Exception {
        assertThat(secure.tls()).isTrue();
        assertThat(secure.url().getScheme()).isEqualTo("https");
        assertThat(Http.status(secure, "GET", "/v2/")).isEqualTo(200);
        assertThatThrownBy(() -> Http.send(HttpClient.newHttpClient(), "GET", secure.url().resolve("/v2/")))
                .isInstanceOf(SSLHandshakeException.class);
        Path ca = secure.caCertificate().orElseThrow();
        assertThat(Files.readString(ca)).startsWith("-----BEGIN CERTIFICATE-----");
        assertThat(curl("--cacert", ca.toString(), secure.url().resolve("/v2/").toString())).isEqualTo("200");
    }

    @Test
    void aConfigResourceIsServedWithItsSettingsOnTheExtensionsAddress(
            @BerthRegistry(config = "readonly.yml") TestRegistry readOnly, TestRegistry plain) throws Exception {
        assertThat(readOnly.host()).startsWith("127.0.0.1:").isNotEqualTo("127.0.0.1:5000");
        assertThat(Http.status(readOnly, "GET", "/v2/")).isEqualTo(200);
        assertThat(Http.status(readOnly, "POST", "/v2/team/app/blobs/uploads/")).isEqualTo(405);
        assertThat(Http.status(plain, "POST", "/v2/team/app/blobs/uploads/")).isEqualTo(202);
    }

    @Nested
    class Inner {
        @Test
        void aNestedClassGetsTheOuterClassRegistry(TestRegistry registry) {
            assertThat(registry).isSameAs(staticField).isSameAs(field);
        }
    }

    /** curl, as a non-Java client given the CA file; prints the status code. */
    private static String curl(String... args) throws Exception {
        String[] command = new String[args.length + 4];
        command[0] = "curl";
        command[1] = "-sS";
        command[2] = "-o/dev/null";
        command[3] = "-w%{http_code}";
        System.arraycopy(args, 0, command, 4, args.length);
        Process curl = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String out = new String(curl.getInputStream().readAllBytes()).strip();
            assertThat(curl.waitFor(1, TimeUnit.MINUTES)).isTrue();
            return out;
        } finally {
            curl.destroyForcibly();
        }
    }
}
