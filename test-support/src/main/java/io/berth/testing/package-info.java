/** Test fixtures shared by every module's tests: certificates, htpasswd files, scratch volumes and an HTTP client. */
@NullMarked
package io.berth.testing;

import org.jspecify.annotations.NullMarked;
