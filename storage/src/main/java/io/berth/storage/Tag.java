package io.berth.storage;

import java.util.regex.Pattern;

/**
 * A tag checked against the distribution spec's grammar.
 *
 * @param value the tag, at most 128 characters
 */
public record Tag(String value) implements Comparable<Tag> {
    private static final Pattern GRAMMAR = Pattern.compile("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");

    public Tag {
        if (!GRAMMAR.matcher(value).matches()) {
            throw new StorageException(Problem.TAG_INVALID, "invalid tag: " + Digest.abbreviate(value));
        }
    }

    public static Tag of(String value) {
        return new Tag(value);
    }

    @Override
    public int compareTo(Tag other) {
        return value.compareTo(other.value);
    }

    @Override
    public String toString() {
        return value;
    }
}
