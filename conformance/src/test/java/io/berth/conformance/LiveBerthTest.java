package io.berth.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.server.Berth;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fixture of the registry client tests (crane, regctl, skopeo, oras): one Berth on temporary storage for the
 * whole class, plain HTTP to check from its side what a client did, and per test a directory for the client's
 * private home and for images seeded with crane. The fields are static, so classes that extend this must not run
 * concurrently in one JVM (JUnit's parallel execution is off).
 */
abstract class LiveBerthTest {
    static Berth berth;
    static RegistryHttp http;

    @TempDir
    Path work;

    @BeforeAll
    static void startBerth() {
        berth = Berth.builder().temporaryStorage().port(0).build();
        berth.start();
        http = new RegistryHttp(berth);
    }

    @AfterAll
    static void stopBerth() {
        berth.close();
    }

    /** {@code <berth>/<repoRef>}. */
    static String ref(String repoRef) {
        return berth.hostAndPort() + "/" + repoRef;
    }

    /** The config descriptor, then the layer descriptors, of an image manifest. */
    static List<JsonNode> blobDescriptors(JsonNode manifest) {
        List<JsonNode> out = new ArrayList<>();
        out.add(manifest.path("config"));
        manifest.path("layers").forEach(out::add);
        return out;
    }

    /** The private home of the peer {@code BERTH_<peer>} in this test's directory, e.g. {@code <work>/crane-home}. */
    Path home(String peer) {
        return work.resolve(peer.toLowerCase(Locale.ROOT) + "-home");
    }

    /** The peer {@code BERTH_<peer>} with its private {@link #home}. */
    PeerCli peer(String peer) {
        return PeerCli.of(peer, home(peer));
    }

    /** Seeds images into Berth with a crane of its own, under {@code <work>/seed}. */
    CraneSeed seed() {
        return new CraneSeed(berth, work.resolve("seed"));
    }
}
