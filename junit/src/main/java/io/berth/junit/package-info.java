/** {@link io.berth.junit.BerthRegistry}: a real, embedded Berth registry for JUnit 5 tests, in one annotation. */
@NullMarked
package io.berth.junit;

import org.jspecify.annotations.NullMarked;
