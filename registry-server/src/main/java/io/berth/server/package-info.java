/**
 * Berth, a registry:2-compatible OCI registry: {@link io.berth.server.Berth} runs one in-process.
 */
@NullMarked
package io.berth.server;

import org.jspecify.annotations.NullMarked;
