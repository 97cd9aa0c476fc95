package io.berth.server.admission;

import io.berth.storage.Digest;
import io.berth.storage.RepositoryName;
import org.jspecify.annotations.Nullable;

/** Whether an image, named by repository and digest, may run. Thread-safe; never fetches while it can answer from memory. */
public interface ImageVerdicts {
    /** Null when {@code repository@digest} may run; otherwise why not, for the admission message. */
    @Nullable String refusal(RepositoryName repository, Digest digest);
}
