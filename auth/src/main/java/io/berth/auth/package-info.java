/**
 * Who may do what: htpasswd accounts, access rules over repository globs, and the tag policy. Knows nothing of Netty.
 */
@NullMarked
package io.berth.auth;

import org.jspecify.annotations.NullMarked;
