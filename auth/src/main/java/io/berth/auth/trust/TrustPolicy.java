package io.berth.auth.trust;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which images must be signed, and by which keys: the ordered rules of {@code berth.trust}. The first rule whose
 * repository globs match a repository applies to it; a repository that no rule matches needs no signature.
 *
 * <p>The key files are reloaded when they change, as the htpasswd file is: at most once a second (by the injected
 * clock), {@link #rule} and {@link #generation} compare each file's real path, modification time, size and file
 * key with those it was read at, and read the files that changed. Each reload that changes a key raises the
 * {@linkplain #generation() generation}, so that a caller holding verdicts made with the old keys knows to drop
 * them. A file that cannot be read or holds no usable key keeps the keys read before, with one warning per broken
 * version: a half-written file must not lock every image out, and a key is withdrawn by writing the file anew.
 *
 * <p>Thread-safe.
 */
public final class TrustPolicy {
    private static final Logger LOG = LoggerFactory.getLogger(TrustPolicy.class);
    /** How often, at most, the key files are looked at for changes. */
    static final long CHECK_INTERVAL_MILLIS = 1000;
    private static final TrustPolicy NONE = new TrustPolicy(List.of(), Clock.systemUTC(), Map.of());

    private final List<CompiledRule> rules;
    private final Clock clock;
    private final AtomicLong nextCheck;
    private volatile State state;
    /** The stamp of a version of a file that failed to load, so that it is neither re-read nor re-reported. */
    private final Map<Path, KeyFileStamp> rejected = new ConcurrentHashMap<>();
    /** The last problem reported about a file itself (missing, unreadable), for the same reason. */
    private final Map<Path, String> lastProblem = new ConcurrentHashMap<>();

    private record CompiledRule(int index, TrustRule source, RepositoryGlobs globs) {}

    private record KeyFile(KeyFileStamp stamp, List<TrustKey> keys) {}

    /** One generation: the keys of every file, and the rules as they apply with them. */
    private record State(long generation, Map<Path, KeyFile> files, List<PolicyRule> rules) {}

    private TrustPolicy(List<CompiledRule> rules, Clock clock, Map<Path, KeyFile> files) {
        this.rules = rules;
        this.clock = clock;
        this.state = new State(1, files, applied(rules, files, 1));
        this.nextCheck = new AtomicLong(clock.millis() + CHECK_INTERVAL_MILLIS);
    }

    /** No rules: no image needs a signature. */
    public static TrustPolicy none() {
        return NONE;
    }

    /**
     * Checks the rules and reads their key files; the files are then watched for changes with the system clock.
     *
     * @throws IllegalArgumentException naming the rule ({@code berth.trust[1]}) for no repositories, a bad glob, no
     *     keys, or a predicate type that is not a URI
     * @throws IOException naming the file, for a key file that cannot be read or holds no usable public key
     */
    public static TrustPolicy of(List<TrustRule> rules) throws IOException {
        return of(rules, Clock.systemUTC());
    }

    /** As {@link #of(List)}, watching the key files with the given clock (tests pass a fake one). */
    public static TrustPolicy of(List<TrustRule> rules, Clock clock) throws IOException {
        Objects.requireNonNull(clock, "clock");
        List<CompiledRule> compiled = new ArrayList<>(rules.size());
        Map<Path, KeyFile> files = new LinkedHashMap<>();
        for (int i = 0; i < rules.size(); i++) {
            TrustRule rule = rules.get(i);
            String where = "berth.trust[" + i + "]";
            if (rule.repositories().isEmpty()) {
                throw new IllegalArgumentException(where + ": the list of repositories is empty; use \"**\" for all");
            }
            RepositoryGlobs globs = RepositoryGlobs.compile(rule.repositories(), where);
            if (rule.keys().isEmpty()) {
                throw new IllegalArgumentException(where + ": no keys; a rule needs at least one public key file"
                        + " (repositories no rule matches need no signature)");
            }
            for (int a = 0; a < rule.attestations().size(); a++) {
                requirePredicateType(rule.attestations().get(a), where + ".attestations[" + a + "]");
            }
            for (Path file : rule.keys()) {
                if (!files.containsKey(file)) {
                    files.put(file, read(file));
                }
            }
            compiled.add(new CompiledRule(i, rule, globs));
        }
        return new TrustPolicy(List.copyOf(compiled), clock, files);
    }

    /**
     * The rule that applies to the repository, with the keys of the current generation, or null when no rule
     * matches it and it needs no signature.
     *
     * @throws IllegalArgumentException for a name outside the repository grammar, which no image can have (refused
     *     rather than taken as matching nothing, which would mean "no signature needed")
     */
    public @Nullable PolicyRule rule(String repository) {
        if (!RepositoryGlobs.isRepositoryName(repository)) {
            throw new IllegalArgumentException("not a repository name: " + Text.quote(repository));
        }
        State current = current();
        for (int i = 0; i < rules.size(); i++) {
            if (rules.get(i).globs().matches(repository)) {
                return current.rules().get(i);
            }
        }
        return null;
    }

    /**
     * The generation of the keys: 1 when the policy is made, raised by every reload that changes a key. Verdicts
     * made with an older generation's keys are stale. Numbers compare only within one policy.
     */
    public long generation() {
        return current().generation();
    }

    /** Whether the policy has no rules, so that no image needs a signature. */
    public boolean isEmpty() {
        return rules.isEmpty();
    }

    /** The rules with the keys of the current generation, in order. */
    public List<PolicyRule> rules() {
        return current().rules();
    }

    /**
     * The current state: looks at the key files first when a second has passed since it last did. Only one caller
     * at a time does the looking; the others go on with what is loaded.
     */
    private State current() {
        if (!rules.isEmpty()) {
            long now = clock.millis();
            long next = nextCheck.get();
            // A clock that jumped back by more than the interval would otherwise stop the checks until it caught up.
            boolean due = now >= next || now < next - CHECK_INTERVAL_MILLIS;
            if (due && nextCheck.compareAndSet(next, now + CHECK_INTERVAL_MILLIS)) {
                reloadChanged();
            }
        }
        return state;
    }

    private void reloadChanged() {
        State old = state;
        Map<Path, KeyFile> files = new LinkedHashMap<>(old.files());
        boolean keysChanged = false;
        for (Map.Entry<Path, KeyFile> entry : old.files().entrySet()) {
            Path file = entry.getKey();
            KeyFile loaded = entry.getValue();
            KeyFileStamp stamp;
            try {
                stamp = KeyFileStamp.of(file);
            } catch (IOException e) {
                String problem = "trust key file " + file + " cannot be read (" + e + ")";
                if (!problem.equals(lastProblem.put(file, problem))) {
                    LOG.warn("{}; keeping the {} key(s) read before", problem, loaded.keys().size());
                }
                continue;
            }
            lastProblem.remove(file);
            if (stamp.equals(loaded.stamp()) || stamp.equals(rejected.get(file))) {
                continue;
            }
            try {
                KeyFile fresh = new KeyFile(stamp, PublicKeys.read(file));
                rejected.remove(file);
                files.put(file, fresh);
                if (!new LinkedHashSet<>(fresh.keys()).equals(new LinkedHashSet<>(loaded.keys()))) {
                    keysChanged = true;
                    LOG.info("trust key file {} reloaded: {}", file, fresh.keys());
                }
            } catch (IOException e) {
                rejected.put(file, stamp);
                LOG.warn("trust key file {} changed but was not reloaded: {}; keeping the {} key(s) read before", file,
                        e.getMessage(), loaded.keys().size());
            }
        }
        if (keysChanged) {
            long generation = old.generation() + 1;
            state = new State(generation, Map.copyOf(files), applied(rules, files, generation));
        } else if (!files.equals(old.files())) {
            // same keys under new stamps (a file rewritten unchanged): remember the stamps, keep the generation
            state = new State(old.generation(), Map.copyOf(files), old.rules());
        }
    }

    private static List<PolicyRule> applied(List<CompiledRule> rules, Map<Path, KeyFile> files, long generation) {
        List<PolicyRule> out = new ArrayList<>(rules.size());
        for (CompiledRule rule : rules) {
            Set<TrustKey> keys = new LinkedHashSet<>();
            for (Path file : rule.source().keys()) {
                keys.addAll(java.util.Objects.requireNonNull(files.get(file), "every rule's key file was read").keys());
            }
            out.add(new PolicyRule(rule.index(), rule.source().repositories(), List.copyOf(keys),
                    rule.source().attestations(), generation));
        }
        return List.copyOf(out);
    }

    private static KeyFile read(Path file) throws IOException {
        KeyFileStamp stamp;
        try {
            stamp = KeyFileStamp.of(file);
        } catch (IOException e) {
            throw new IOException(file + ": " + (e instanceof NoSuchFileException
                    ? "no such file"
                    : String.valueOf(e.getMessage())), e);
        }
        return new KeyFile(stamp, PublicKeys.read(file));
    }

    private static void requirePredicateType(String type, String where) {
        URI uri;
        try {
            uri = new URI(type);
        } catch (URISyntaxException e) {
            uri = null;
        }
        if (uri == null || uri.getScheme() == null || uri.getRawSchemeSpecificPart().isEmpty()) {
            throw new IllegalArgumentException(where + ": " + Text.quote(type) + " is not a predicate type URI;"
                    + " name it in full, as the in-toto statement does (for example https://slsa.dev/provenance/v1,"
                    + " not cosign's --type shorthand)");
        }
    }

    @Override
    public String toString() {
        return "TrustPolicy" + current().rules();
    }
}
