package io.berth.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gives a JUnit 5 test a real Berth registry, started in the test's JVM on {@code 127.0.0.1} and a free port, with its
 * data in a new temporary directory. Every field and parameter of type {@link TestRegistry} is injected with it; the
 * registry is stopped and its directory deleted when the test class is done (or the test method, with
 * {@link Lifecycle#PER_METHOD}).
 *
 * <pre>{@code
 * @BerthRegistry
 * class PublishTest {
 *     @Test
 *     void pushesTheImage(TestRegistry registry) throws Exception {
 *         Jib.fromScratch()
 *                 .addLayer(List.of(Path.of("target/app.jar")), "/app")
 *                 .containerize(Containerizer.to(RegistryImage.named(registry.imageReference("demo/app", "1.0")))
 *                         .setAllowInsecureRegistries(true));   // plain HTTP on 127.0.0.1
 *         // registry.url() is http://127.0.0.1:<port>; GET /v2/demo/app/manifests/1.0 reads it back
 *     }
 * }
 * }</pre>
 *
 * <p>Where the annotation goes:
 * <ul>
 *   <li>on the test class: one registry for the whole class (and its {@code @Nested} classes), injected into every
 *       {@code TestRegistry} field (static ones before {@code @BeforeAll}) and parameter (of tests, lifecycle methods
 *       and constructors);</li>
 *   <li>on a field or parameter: that one gets a registry with these options. Fields and parameters that ask with the
 *       same options in the same scope share one registry; different options give different registries.</li>
 * </ul>
 * A {@code TestRegistry} field or parameter without an annotation of its own takes the test class's options, else the
 * defaults. Test classes running in parallel each get their own registry.
 */
@Target({ElementType.TYPE, ElementType.FIELD, ElementType.PARAMETER, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(BerthRegistryExtension.class)
public @interface BerthRegistry {

    /**
     * Serve HTTPS with a certificate for {@code 127.0.0.1} and {@code localhost}, issued by a CA made for this registry
     * alone. {@link TestRegistry#caCertificate()} and {@link TestRegistry#sslContext()} are what a client trusts.
     */
    boolean tls() default false;

    /**
     * A registry:2 {@code config.yml} on the class path, found as {@link Class#getResource} finds it from the test class
     * ({@code "registry.yml"} beside the test, {@code "/berth/registry.yml"} from the root). Empty: Berth's embedded
     * defaults (deletes enabled). Whatever the file says, {@code http.addr} is {@code 127.0.0.1:0} and
     * {@code storage.filesystem.rootdirectory} the temporary directory; with {@link #tls()}, so are the certificate and
     * key of {@code http.tls}.
     */
    String config() default "";

    /** How long one registry lives. */
    Lifecycle lifecycle() default Lifecycle.PER_CLASS;

    /** How long one registry lives, and so which tests share it. */
    enum Lifecycle {
        /** Started when first asked for in a test class, stopped after the class: its tests share it. */
        PER_CLASS,
        /** Started for one test method (one invocation of a parameterized test), stopped after it. */
        PER_METHOD
    }
}
