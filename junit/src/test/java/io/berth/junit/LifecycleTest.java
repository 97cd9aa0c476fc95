package io.berth.junit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.junit.BerthRegistry.Lifecycle;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/** When registries start and stop: seen from outside the sample classes that used them, after they ran. */
class LifecycleTest {
    static final List<TestRegistry> SEEN = new CopyOnWriteArrayList<>();

    @BeforeEach
    void forgetEarlierRuns() {
        SEEN.clear();
    }

    @Test
    void theClassRegistryServesEveryTestThenIsStoppedAndItsDirectoryDeletedAfterTheClass() {
        TestExecutionSummary summary = Samples.run(Map.of(), PerClassSample.class);

        assertThat(Samples.failures(summary)).isEmpty();
        assertThat(summary.getTestsSucceededCount()).isEqualTo(2);
        assertThat(SEEN).hasSize(2);
        assertThat(SEEN.get(0)).isSameAs(SEEN.get(1));
        assertStopped(SEEN.get(0));
    }

    @Test
    void aPerMethodRegistryIsStoppedAndDeletedAfterItsMethodBeforeTheNextStarts() {
        TestExecutionSummary summary = Samples.run(Map.of(), PerMethodSample.class);

        assertThat(Samples.failures(summary)).isEmpty();
        assertThat(summary.getTestsSucceededCount()).isEqualTo(2);
        assertThat(SEEN).hasSize(2);
        assertThat(SEEN.get(0).port()).isNotEqualTo(SEEN.get(1).port());
        SEEN.forEach(LifecycleTest::assertStopped);
    }

    @Test
    void aConfigResourceThatIsNotThereFailsTheTestWithItsName() {
        TestExecutionSummary summary = Samples.run(Map.of(), MissingConfigSample.class);

        assertThat(summary.getTestsFailedCount()).isEqualTo(1);
        assertThat(Samples.failures(summary)).singleElement().asString()
                .contains("no-such.yml", "no such resource on the class path");
    }

    /** Stopped: nothing listens on its port any more, and its temporary directory (data, certificates) is gone. */
    static void assertStopped(TestRegistry registry) {
        Path directory = registry.storageDirectory().getParent();
        assertThat(directory.getFileName().toString()).startsWith("berth-junit-");
        assertThat(directory).doesNotExist();
        assertThatThrownBy(() -> new Socket("127.0.0.1", registry.port()).close()).isInstanceOf(ConnectException.class);
    }

    @BerthRegistry
    @ExtendWith(Samples.OnlyWhenLaunched.class)
    static class PerClassSample {
        @Test
        void first(TestRegistry registry) throws Exception {
            SEEN.add(registry);
            assertThat(Http.status(registry, "GET", "/v2/")).isEqualTo(200);
        }

        @Test
        void second(TestRegistry registry) throws Exception {
            SEEN.add(registry);
            assertThat(Http.status(registry, "GET", "/v2/")).isEqualTo(200);
        }
    }

    @ExtendWith(Samples.OnlyWhenLaunched.class)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class PerMethodSample {
        @Test
        @Order(1)
        void first(@BerthRegistry(lifecycle = Lifecycle.PER_METHOD) TestRegistry registry) throws Exception {
            SEEN.add(registry);
            assertThat(Http.status(registry, "GET", "/v2/")).isEqualTo(200);
            assertThat(registry.storageDirectory()).isDirectory();
        }

        @Test
        @Order(2)
        void second(@BerthRegistry(lifecycle = Lifecycle.PER_METHOD) TestRegistry registry) throws Exception {
            assertStopped(SEEN.get(0));
            SEEN.add(registry);
            assertThat(Http.status(registry, "GET", "/v2/")).isEqualTo(200);
        }
    }

    @ExtendWith(Samples.OnlyWhenLaunched.class)
    static class MissingConfigSample {
        @Test
        void asksForAConfigThatIsNotThere(@BerthRegistry(config = "no-such.yml") TestRegistry registry) {
            SEEN.add(registry);
        }
    }
}
