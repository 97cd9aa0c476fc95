package io.berth.junit;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Test;

/** No annotation on the class: the one on a field registers the extension and is enough. */
class FieldAnnotationTest {
    @BerthRegistry
    TestRegistry registry;

    @SecureRegistry
    TestRegistry secureField;

    /** A project's own composed annotation, carrying its options. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.FIELD, ElementType.PARAMETER})
    @BerthRegistry(tls = true)
    @interface SecureRegistry {}

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

    @Test
    void aComposedAnnotationCarriesItsOptionsOnFieldsAndParameters(@SecureRegistry TestRegistry secure) throws Exception {
        assertThat(secureField.tls()).isTrue();
        assertThat(secure).isSameAs(secureField).isNotSameAs(registry);
        assertThat(Http.status(secure, "GET", "/v2/")).isEqualTo(200);
    }
}
