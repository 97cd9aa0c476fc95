/**
 * Content-addressed registry storage on registry:2's filesystem layout; it knows nothing of HTTP.
 */
@NullMarked
package io.berth.storage;

import org.jspecify.annotations.NullMarked;
