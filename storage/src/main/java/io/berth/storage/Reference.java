package io.berth.storage;

/** A manifest reference: a tag or a digest. */
public sealed interface Reference permits Reference.ByTag, Reference.ByDigest {

    /** Parses a reference from the URL: a digest when it has a colon, a tag otherwise. */
    static Reference parse(String text) {
        return Digest.looksLikeDigest(text) ? new ByDigest(Digest.parse(text)) : new ByTag(Tag.of(text));
    }

    /** A reference by tag. */
    record ByTag(Tag tag) implements Reference {
        @Override
        public String toString() {
            return tag.value();
        }
    }

    /** A reference by digest. */
    record ByDigest(Digest digest) implements Reference {
        @Override
        public String toString() {
            return digest.toString();
        }
    }
}
