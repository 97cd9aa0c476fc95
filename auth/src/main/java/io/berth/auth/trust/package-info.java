/**
 * Which images must be signed ({@code berth.trust}), and cosign signatures and attestations checked against that
 * policy's public keys: pure verification, with no storage and no network.
 */
@NullMarked
package io.berth.auth.trust;

import org.jspecify.annotations.NullMarked;
