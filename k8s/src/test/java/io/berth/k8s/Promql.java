package io.berth.k8s;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The one piece of PromQL syntax the monitoring tests need: the top-level comparison of an alert's expression
 * ({@code <measure> <comparison> <threshold>}, the convention berth-rules.yml documents), turned into a {@code bool}
 * comparison so that a live Prometheus returns a series (0 or 1) whether or not the alert would fire.
 */
final class Promql {
    private static final List<String> COMPARISONS = List.of("==", "!=", ">=", "<=", ">", "<");
    private static final List<String> SET_OPERATORS = List.of("and", "or", "unless");

    private Promql() {}

    /**
     * {@code (<measure>) <comparison> bool (<threshold>)} for {@code expr}; fails when {@code expr} breaks the
     * convention: no top-level comparison, more than one, or a top-level {@code and} / {@code or} / {@code unless}.
     */
    static String asBool(String expr) {
        List<int[]> found = topLevelComparisons(expr);
        if (found.size() != 1) {
            throw new IllegalArgumentException("expected exactly one top-level comparison (<measure> <comparison> <threshold>), found "
                    + found.size() + " in: " + expr);
        }
        int at = found.get(0)[0];
        int length = found.get(0)[1];
        String lhs = expr.substring(0, at).strip();
        String rhs = expr.substring(at + length).strip();
        if (rhs.startsWith("bool") && (rhs.length() == 4 || !Character.isLetterOrDigit(rhs.charAt(4)) && rhs.charAt(4) != '_')) {
            rhs = rhs.substring(4).strip();
        }
        if (lhs.isEmpty() || rhs.isEmpty()) {
            throw new IllegalArgumentException("a comparison needs a measure and a threshold: " + expr);
        }
        return "(" + lhs + ") " + expr.substring(at, at + length) + " bool (" + rhs + ")";
    }

    /** Offsets and lengths of the comparison operators outside any (), [], {} or string literal. */
    private static List<int[]> topLevelComparisons(String expr) {
        List<int[]> out = new ArrayList<>();
        int depth = 0;
        char quote = 0;
        for (int i = 0; i < expr.length(); i++) {
            char c = expr.charAt(i);
            if (quote != 0) {
                if (c == '\\' && quote != '`') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
                continue;
            }
            switch (c) {
                case '"', '\'', '`' -> quote = c;
                case '(', '[', '{' -> depth++;
                case ')', ']', '}' -> depth--;
                default -> {
                    if (depth != 0) {
                        continue;
                    }
                    if (Character.isLetter(c) && (i == 0 || !isWordChar(expr.charAt(i - 1)))) {
                        int end = i;
                        while (end < expr.length() && isWordChar(expr.charAt(end))) {
                            end++;
                        }
                        String word = expr.substring(i, end).toLowerCase(Locale.ROOT);
                        if (SET_OPERATORS.contains(word)) {
                            throw new IllegalArgumentException("a top-level `" + word + "` breaks the convention (put it inside parentheses): " + expr);
                        }
                        i = end - 1;
                        continue;
                    }
                    for (String op : COMPARISONS) {
                        if (expr.startsWith(op, i)) {
                            out.add(new int[] {i, op.length()});
                            i += op.length() - 1;
                            break;
                        }
                    }
                }
            }
            if (depth < 0) {
                throw new IllegalArgumentException("unbalanced brackets in: " + expr);
            }
        }
        if (depth != 0 || quote != 0) {
            throw new IllegalArgumentException("unbalanced brackets or quotes in: " + expr);
        }
        return out;
    }

    private static boolean isWordChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == ':';
    }
}
