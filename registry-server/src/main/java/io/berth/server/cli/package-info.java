/**
 * The {@code berth} command line: {@code serve}, {@code garbage-collect}, {@code --version}, as registry:2's.
 */
@NullMarked
package io.berth.server.cli;

import org.jspecify.annotations.NullMarked;
