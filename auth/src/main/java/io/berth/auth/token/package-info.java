/**
 * registry:2-compatible bearer tokens: a validator that accepts what distribution's token access controller accepts
 * (and refuses the classic forgeries), and an issuer of tokens that registry:2 and Berth both accept. Knows nothing of
 * HTTP.
 */
@NullMarked
package io.berth.auth.token;

import org.jspecify.annotations.NullMarked;
