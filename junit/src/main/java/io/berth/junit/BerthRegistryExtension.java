package io.berth.junit;

import io.berth.junit.BerthRegistry.Lifecycle;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestInstancePostProcessor;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;
import org.junit.platform.commons.support.ReflectionSupport;
import org.jspecify.annotations.Nullable;

/**
 * Starts the registries {@link BerthRegistry} asks for and injects them: static {@link TestRegistry} fields before
 * {@code @BeforeAll}; instance fields when the instance is made (per-class registries, so that a
 * {@code @TestInstance(PER_CLASS)} test has them in its {@code @BeforeAll}) and again before each test (all of them,
 * and those of the enclosing instances of a {@code @Nested} test); parameters wherever JUnit resolves them.
 *
 * <p>Each registry is kept in the store of its scope, keyed by its options: the test class's context for
 * {@link Lifecycle#PER_CLASS} (a {@code @Nested} class finds its outer class's registry there too), the test
 * method's for {@link Lifecycle#PER_METHOD}. JUnit closes it when that scope ends.
 */
final class BerthRegistryExtension
        implements BeforeAllCallback, TestInstancePostProcessor, BeforeEachCallback, ParameterResolver {
    private static final Namespace NAMESPACE = Namespace.create(BerthRegistryExtension.class);

    /** What tells one registry from another in a scope; {@code config} is the resolved resource's URL. */
    private record Options(boolean tls, @Nullable URI config, Lifecycle lifecycle) {
        static final Options DEFAULTS = new Options(false, null, Lifecycle.PER_CLASS);

        static Options of(BerthRegistry annotation, Class<?> testClass) {
            URI config = null;
            if (!annotation.config().isEmpty()) {
                URL url = testClass.getResource(annotation.config());
                if (url == null) {
                    throw new ExtensionConfigurationException("@BerthRegistry(config = \"" + annotation.config()
                            + "\"): no such resource on the class path, looked up from " + testClass.getName());
                }
                try {
                    config = url.toURI();
                } catch (URISyntaxException e) {
                    throw new ExtensionConfigurationException("cannot read " + url, e);
                }
            }
            return new Options(annotation.tls(), config, annotation.lifecycle());
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        Class<?> testClass = context.getRequiredTestClass();
        for (Field field : registryFields(testClass, true)) {
            Options options = options(AnnotationSupport.findAnnotation(field, BerthRegistry.class).orElse(null), testClass);
            if (options.lifecycle() == Lifecycle.PER_METHOD) {
                throw new ExtensionConfigurationException(
                        "static field " + field + " cannot hold a PER_METHOD registry; make it an instance field");
            }
            inject(field, null, registry(context, options, field.toString()));
        }
    }

    @Override
    public void postProcessTestInstance(Object instance, ExtensionContext context) {
        for (Field field : registryFields(instance.getClass(), false)) {
            Options options = options(AnnotationSupport.findAnnotation(field, BerthRegistry.class).orElse(null), instance.getClass());
            if (options.lifecycle() == Lifecycle.PER_CLASS) {
                inject(field, instance, registry(context, options, field.toString()));
            }
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        for (Object instance : context.getRequiredTestInstances().getAllInstances()) {
            for (Field field : registryFields(instance.getClass(), false)) {
                Options options = options(AnnotationSupport.findAnnotation(field, BerthRegistry.class).orElse(null), instance.getClass());
                inject(field, instance, registry(context, options, field.toString()));
            }
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == TestRegistry.class;
    }

    @Override
    public TestRegistry resolveParameter(ParameterContext parameter, ExtensionContext context) {
        Options options = options(parameter.findAnnotation(BerthRegistry.class).orElse(null), context.getRequiredTestClass());
        return registry(context, options, parameter.getParameter().toString());
    }

    private static List<Field> registryFields(Class<?> testClass, boolean statics) {
        return ReflectionSupport.findFields(testClass,
                f -> f.getType() == TestRegistry.class && Modifier.isStatic(f.getModifiers()) == statics,
                HierarchyTraversalMode.TOP_DOWN);
    }

    /** The options on the field or parameter, else on the test class or a class enclosing it, else the defaults. */
    private static Options options(@Nullable BerthRegistry own, Class<?> testClass) {
        if (own != null) {
            return Options.of(own, testClass);
        }
        for (Class<?> c = testClass; c != null; c = c.getEnclosingClass()) {
            Optional<BerthRegistry> declared = AnnotationSupport.findAnnotation(c, BerthRegistry.class);
            if (declared.isPresent()) {
                return Options.of(declared.get(), c);
            }
        }
        return Options.DEFAULTS;
    }

    private static TestRegistry registry(ExtensionContext context, Options options, String requester) {
        ExtensionContext scope = scope(context, options.lifecycle(), requester);
        return scope.getStore(NAMESPACE)
                .getOrComputeIfAbsent(options, o -> RunningRegistry.start(o.tls(), o.config()), RunningRegistry.class)
                .registry();
    }

    /** The test class's context for PER_CLASS; the test method's for PER_METHOD. */
    private static ExtensionContext scope(ExtensionContext context, Lifecycle lifecycle, String requester) {
        if (lifecycle == Lifecycle.PER_METHOD) {
            if (context.getTestMethod().isEmpty()) {
                throw new ExtensionConfigurationException(requester
                        + " asks for a PER_METHOD registry outside a test method (a constructor or @BeforeAll)");
            }
            return context;
        }
        ExtensionContext scope = context;
        while (scope.getTestMethod().isPresent() && scope.getParent().isPresent()) {
            scope = scope.getParent().get();
        }
        return scope;
    }

    private static void inject(Field field, @Nullable Object instance, TestRegistry registry) {
        if (Modifier.isFinal(field.getModifiers())) {
            throw new ExtensionConfigurationException("field " + field + " is final; @BerthRegistry cannot set it");
        }
        try {
            field.setAccessible(true);
            field.set(instance, registry);
        } catch (IllegalAccessException e) {
            throw new ExtensionConfigurationException("cannot set " + field, e);
        }
    }
}
