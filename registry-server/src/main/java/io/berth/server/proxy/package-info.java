/** registry:2's pull-through cache ({@code proxy}): the upstream registry's client and the cache in front of storage. */
@NullMarked
package io.berth.server.proxy;

import org.jspecify.annotations.NullMarked;
