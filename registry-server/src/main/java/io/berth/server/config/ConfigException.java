package io.berth.server.config;

import java.io.Serial;

/** A configuration Berth will not start with; the message names the key and what is wrong. */
public final class ConfigException extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }
}
