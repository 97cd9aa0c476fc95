/** Log lines as registry:2 writes them: its formatters, its field names, a request id on each line of a request. */
@NullMarked
package io.berth.server.logging;

import org.jspecify.annotations.NullMarked;
