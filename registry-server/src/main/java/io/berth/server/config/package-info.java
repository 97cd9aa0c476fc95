/**
 * registry:2's {@code config.yml} and {@code REGISTRY_*} environment overrides, read into Berth's settings.
 */
@NullMarked
package io.berth.server.config;

import org.jspecify.annotations.NullMarked;
