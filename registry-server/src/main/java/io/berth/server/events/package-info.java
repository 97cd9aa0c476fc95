/**
 * registry:2's notifications: the events a push, pull, delete or mount produces, and their delivery to endpoints.
 */
@NullMarked
package io.berth.server.events;

import org.jspecify.annotations.NullMarked;
