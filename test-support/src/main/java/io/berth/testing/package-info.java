/** Test fixtures shared by every module's tests: certificates and htpasswd files. */
@NullMarked
package io.berth.testing;

import org.jspecify.annotations.NullMarked;
