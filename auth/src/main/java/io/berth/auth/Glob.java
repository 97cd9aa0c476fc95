package io.berth.auth;

import java.util.Arrays;
import java.util.regex.Pattern;

/**
 * A repository or tag pattern of the access rules and the tag policy.
 *
 * <p>In a repository glob, {@code *} matches a run of characters within one path segment (no {@code /}), and
 * {@code **} matches any run of characters, {@code /} included. A leading {@code **}{@code /} and an inner
 * {@code /}{@code **}{@code /} also match zero segments, so {@code team/}{@code **}{@code /app} matches
 * {@code team/app} as well as {@code team/x/y/app}. A trailing {@code /}{@code **} matches everything under a
 * repository but not the repository itself. In a tag glob, {@code *} (or {@code **}) matches any run of tag
 * characters. Everything else is literal.
 *
 * <p>The glob is not compiled to a backtracking regex: a pattern such as {@code *a*a*a*a*b} takes a backtracking
 * engine over a minute against a 255-character name, and names reach us from the network. It runs instead as a
 * small automaton whose states are the pattern's positions, in time proportional to name length × pattern
 * length, whatever the input.
 */
final class Glob {
    /** The distribution spec's repository name grammar; registry:2 caps names at 255 characters. */
    static final Pattern REPOSITORY_NAME =
            Pattern.compile("[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*");
    static final int MAX_REPOSITORY_LENGTH = 255;
    /** The distribution spec's tag grammar. */
    static final Pattern TAG = Pattern.compile("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");
    /** Longer patterns could never match a valid name or tag. */
    private static final int MAX_PATTERN_LENGTH = 512;

    private static final char LITERAL = 'L';
    /** Any run of characters except {@code /}. */
    private static final char STAR = 'S';
    /** Any run of characters. */
    private static final char DOUBLE_STAR = 'D';
    /**
     * Consumes nothing; either skips the two states after it or enters them. Followed by {@link #DOUBLE_STAR} and a
     * literal {@code /}, it makes "zero or more whole segments": nothing, or any run of characters ending with
     * {@code /}.
     */
    private static final char OPTIONAL_SEGMENTS = 'O';

    private final String text;
    private final char[] kinds;
    private final char[] literals;

    private Glob(String text, StringBuilder kinds, StringBuilder literals) {
        this.text = text;
        this.kinds = kinds.toString().toCharArray();
        this.literals = literals.toString().toCharArray();
    }

    /**
     * Compiles a repository glob.
     *
     * @throws IllegalArgumentException naming the offending character, without any rule context (callers add it)
     */
    static Glob repository(String glob) {
        requireShape(glob, "repository");
        StringBuilder kinds = new StringBuilder();
        StringBuilder literals = new StringBuilder();
        int i = 0;
        while (i < glob.length()) {
            char c = glob.charAt(i);
            if (c == '*') {
                int run = starRun(glob, i);
                if (run > 2) {
                    throw new IllegalArgumentException(
                            "repository pattern " + Messages.quote(glob) + " has " + run + " stars in a row; use * or **");
                }
                boolean segmentStart = i == 0 || glob.charAt(i - 1) == '/';
                boolean slashAfter = i + run < glob.length() && glob.charAt(i + run) == '/';
                if (run == 2 && segmentStart && slashAfter) {
                    add(kinds, literals, OPTIONAL_SEGMENTS, '\0');
                    add(kinds, literals, DOUBLE_STAR, '\0');
                    add(kinds, literals, LITERAL, '/');
                    i += 3;
                } else {
                    add(kinds, literals, run == 2 ? DOUBLE_STAR : STAR, '\0');
                    i += run;
                }
            } else if (isRepositoryChar(c)) {
                add(kinds, literals, LITERAL, c);
                i++;
            } else {
                throw new IllegalArgumentException("repository pattern " + Messages.quote(glob) + " has the character "
                        + Messages.describe(c) + "; repository names use only a-z, 0-9, '.', '_', '-' and '/'");
            }
        }
        return new Glob(glob, kinds, literals);
    }

    /**
     * Compiles a tag glob.
     *
     * @throws IllegalArgumentException naming the offending character, without any rule context (callers add it)
     */
    static Glob tag(String glob) {
        requireShape(glob, "tag");
        StringBuilder kinds = new StringBuilder();
        StringBuilder literals = new StringBuilder();
        int i = 0;
        while (i < glob.length()) {
            char c = glob.charAt(i);
            if (c == '*') {
                add(kinds, literals, STAR, '\0');
                i += starRun(glob, i);
            } else if (isTagChar(c)) {
                add(kinds, literals, LITERAL, c);
                i++;
            } else {
                throw new IllegalArgumentException("tag pattern " + Messages.quote(glob) + " has the character "
                        + Messages.describe(c) + "; tags use only A-Z, a-z, 0-9, '.', '_' and '-'");
            }
        }
        return new Glob(glob, kinds, literals);
    }

    static boolean isRepositoryName(String name) {
        return name.length() <= MAX_REPOSITORY_LENGTH && REPOSITORY_NAME.matcher(name).matches();
    }

    static boolean isTag(String tag) {
        return TAG.matcher(tag).matches();
    }

    /** Whether the whole of {@code input} matches. */
    boolean matches(String input) {
        int states = kinds.length + 1;
        boolean[] current = new boolean[states];
        boolean[] next = new boolean[states];
        current[0] = true;
        closeOver(current);
        for (int pos = 0; pos < input.length(); pos++) {
            char c = input.charAt(pos);
            Arrays.fill(next, false);
            boolean any = false;
            for (int s = 0; s < kinds.length; s++) {
                if (!current[s]) {
                    continue;
                }
                switch (kinds[s]) {
                    case LITERAL -> {
                        if (literals[s] == c) {
                            next[s + 1] = true;
                            any = true;
                        }
                    }
                    case STAR -> {
                        if (c != '/') {
                            next[s] = true;
                            any = true;
                        }
                    }
                    case DOUBLE_STAR -> {
                        next[s] = true;
                        any = true;
                    }
                    case OPTIONAL_SEGMENTS -> {
                        // consumes nothing: its moves are all in closeOver
                    }
                    default -> throw new IllegalStateException("unknown glob state " + kinds[s]);
                }
            }
            if (!any) {
                return false;
            }
            closeOver(next);
            boolean[] swap = current;
            current = next;
            next = swap;
        }
        return current[kinds.length];
    }

    /**
     * Adds the moves that consume nothing: a star may match nothing (to the next state), and optional segments may
     * be entered (the next state) or skipped (past its star and slash). Every move goes forward, so one pass in
     * order is enough.
     */
    private void closeOver(boolean[] states) {
        for (int s = 0; s < kinds.length; s++) {
            if (states[s] && kinds[s] != LITERAL) {
                states[s + 1] = true;
                if (kinds[s] == OPTIONAL_SEGMENTS) {
                    states[s + 3] = true;
                }
            }
        }
    }

    @Override
    public String toString() {
        return text;
    }

    private static void requireShape(String glob, String what) {
        if (glob.isEmpty()) {
            throw new IllegalArgumentException("empty " + what + " pattern");
        }
        if (glob.length() > MAX_PATTERN_LENGTH) {
            throw new IllegalArgumentException(what + " pattern " + Messages.quote(glob) + " is longer than "
                    + MAX_PATTERN_LENGTH + " characters");
        }
    }

    private static int starRun(String glob, int from) {
        int end = from;
        while (end < glob.length() && glob.charAt(end) == '*') {
            end++;
        }
        return end - from;
    }

    /** Appends a state: its kind, and the character it consumes if it is a literal. */
    private static void add(StringBuilder kinds, StringBuilder literals, char kind, char literal) {
        kinds.append(kind);
        literals.append(literal);
    }

    private static boolean isRepositoryChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/';
    }

    private static boolean isTagChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
                || c == '-';
    }
}
