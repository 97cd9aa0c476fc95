/**
 * The OCI Distribution wire protocol on Netty: routing, streaming bodies, errors. Internal to Berth.
 */
@NullMarked
package io.berth.server.http;

import org.jspecify.annotations.NullMarked;
