package io.berth.server.http;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The HTTP tests that share one Berth (on temporary storage, on a free port) across a class: it starts before the
 * class's first test (and before its own {@code @BeforeAll}) and closes after its last. The fields are static, so
 * classes that extend this must not run concurrently in one JVM (JUnit's parallel execution is off).
 */
abstract class SharedBerthTest {
    private static final AtomicInteger REPOS = new AtomicInteger();
    static HttpFixture http;

    @BeforeAll
    static void startBerth() {
        REPOS.set(0);
        http = HttpFixture.start();
    }

    @AfterAll
    static void stopBerth() {
        http.close();
    }

    /** A repository name no test of the class has had: {@code <prefix>1}, {@code <prefix>2}, and so on. */
    static String newRepo(String prefix) {
        return prefix + REPOS.incrementAndGet();
    }
}
