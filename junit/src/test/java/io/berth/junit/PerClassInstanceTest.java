package io.berth.junit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** With one test instance for the class, its instance field is set before its (non-static) @BeforeAll runs. */
@BerthRegistry
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PerClassInstanceTest {
    TestRegistry registry;
    /** Not a TestRegistry field: the extension would set that one too. */
    Object seenInBeforeAll;

    @BeforeAll
    void beforeAll() {
        seenInBeforeAll = registry;
    }

    @Test
    void theInstanceFieldIsSetBeforeBeforeAllAndStaysTheClassRegistry(TestRegistry parameter) throws Exception {
        assertThat(seenInBeforeAll).isNotNull().isSameAs(registry).isSameAs(parameter);
        assertThat(Http.status(registry, "GET", "/v2/")).isEqualTo(200);
    }
}
