package io.berth.auth.trust;

/**
 * Why one signature layer proves nothing; caught per layer and turned into a {@link Rejection}. Carries no stack
 * trace: it is an answer, not a fault.
 */
final class Refusal extends Exception {
    private static final long serialVersionUID = 1L;

    private final String reason;

    Refusal(String reason) {
        super(reason, null, false, false);
        this.reason = reason;
    }

    /** The reason, never null. */
    @Override
    public String getMessage() {
        return reason;
    }
}
