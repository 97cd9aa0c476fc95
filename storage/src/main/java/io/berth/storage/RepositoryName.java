package io.berth.storage;

import java.util.regex.Pattern;

/**
 * A repository name checked against the distribution spec's grammar before it can reach a path.
 *
 * @param value the name, e.g. {@code team/app}
 */
public record RepositoryName(String value) implements Comparable<RepositoryName> {
    private static final Pattern GRAMMAR =
            Pattern.compile("[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*");
    /** registry:2's limit on the whole name. */
    static final int MAX_LENGTH = 255;

    public RepositoryName {
        if (value.isEmpty() || value.length() > MAX_LENGTH || !GRAMMAR.matcher(value).matches()) {
            throw new StorageException(Problem.NAME_INVALID, "invalid repository name: " + Digest.abbreviate(value));
        }
    }

    public static RepositoryName of(String value) {
        return new RepositoryName(value);
    }

    /** Orders names component by component, as registry:2's catalog does. */
    @Override
    public int compareTo(RepositoryName other) {
        return value.replace('/', '\0').compareTo(other.value.replace('/', '\0'));
    }

    @Override
    public String toString() {
        return value;
    }
}
