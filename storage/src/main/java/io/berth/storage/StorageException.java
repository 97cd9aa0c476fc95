package io.berth.storage;

import java.io.Serial;

/** A request the storage refuses, carrying the spec's error code and a human detail. */
public final class StorageException extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;

    private final Problem problem;

    public StorageException(Problem problem, String detail) {
        super(detail, null, false, false);
        this.problem = problem;
    }

    /** A failure of the disk itself, {@code cause}, with what it was doing in {@code detail}. */
    public StorageException(Problem problem, String detail, Throwable cause) {
        super(detail, cause, false, false);
        this.problem = problem;
    }

    public Problem problem() {
        return problem;
    }
}
