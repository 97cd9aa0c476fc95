package io.berth.junit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** No annotation on the class: the one on a field registers the extension and is enough. */
class FieldAnnotationTest {
    @BerthRegistry
    TestRegistry registry;

    @Test
    void anAnnotatedFieldIsInjectedWithAStartedRegistry() throws Exception {
        assertThat(registry).isNotNull();
        assertThat(Http.status(registry, "GET", "/v2/")).isEqualTo(200);
    }

    @Test
    void aPlainParameterGetsTheSameRegistryAsTheField(TestRegistry parameter) {
        assertThat(parameter).isSameAs(registry);
    }

    @Test
    void anAnnotatedParameterAloneGetsARegistryWithItsOptions(@BerthRegistry(tls = true) TestRegistry secure) throws Exception {
        assertThat(secure).isNotSameAs(registry);
        assertThat(Http.status(secure, "GET", "/v2/")).isEqualTo(200);
    }
}
