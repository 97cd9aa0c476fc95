/** Online garbage collection: the storage's collector, run on a schedule while the registry serves ({@code berth.gc}). */
@NullMarked
package io.berth.server.gc;

import org.jspecify.annotations.NullMarked;
