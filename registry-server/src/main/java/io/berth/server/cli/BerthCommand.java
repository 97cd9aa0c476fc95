package io.berth.server.cli;

import ch.qos.logback.classic.Level;
import io.berth.server.Berth;
import io.berth.server.config.ConfigException;
import io.berth.server.config.ConfigLoader;
import io.berth.server.config.RegistryConfig;
import io.berth.storage.GarbageCollector;
import io.berth.storage.RegistryStorage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.apache.commons.cli.help.HelpFormatter;
import org.apache.commons.cli.help.TextHelpAppendable;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code berth}: the same verbs as registry:2's binary. Apache Commons CLI parses each verb's options;
 * it replaced picocli because picocli's Java 5 class files are verified by the slow old verifier and
 * cannot be kept in the JDK's AOT cache, which cost about 0.3 s of every start (bench W7).
 */
public final class BerthCommand {
    /** The exit code for a command line that cannot be parsed, or a configuration that is invalid. */
    static final int USAGE = 2;

    private static final Option HELP = Option.builder("h").longOpt("help").desc("Show this help and exit.").get();

    private final PrintWriter out;
    private final PrintWriter err;
    private final List<Verb> verbs;

    public BerthCommand(PrintWriter out, PrintWriter err) {
        this.out = out;
        this.err = err;
        this.verbs = List.of(
                new Verb("serve", "[CONFIG]", "Serve the registry (registry:2's `serve`); CONFIG is a registry:2 config.yml.",
                        false, new Options(), this::serve),
                new Verb("garbage-collect", "CONFIG",
                        "Delete blobs no manifest references (registry:2's `garbage-collect`). Safe while a Berth serves the same storage.", false,
                        new Options()
                                .addOption(Option.builder("d").longOpt("dry-run").desc("Only print what would be deleted.").get())
                                .addOption(Option.builder("g").longOpt("grace-period").hasArg().argName("DURATION")
                                        .desc("Keep blobs uploaded or linked this recently, e.g. 1h or 0s (default: berth.gc.gracePeriod, 1h).").get())
                                .addOption(Option.builder("m").longOpt("delete-untagged")
                                        .desc("Also delete manifests no tag reaches (index children and referrers of tagged images are kept).")
                                        .get()),
                        this::collectGarbage),
                new Verb("fsck", "CONFIG",
                        "Check every blob's digest and every link of the volume; --repair makes only safe changes. Run it while nothing writes."
                                + " Exits 1 when it finds damage.", false,
                        new Options().addOption(Option.builder("r").longOpt("repair")
                                .desc("Quarantine corrupt blobs, drop dangling layer links and bad referrers entries, remove leftovers older than an hour.")
                                .get()),
                        line -> FsckCommand.run(requiredPath(line, "fsck"), line.hasOption("repair"), out, err)),
                new Verb("admission", "CONFIG",
                        "Serve only the admission webhook (berth.admission), for images in another registry (berth.admission.registry).",
                        false, new Options(), this::admission),
                new Verb("aot-training", "", "Train the JDK's AOT cache (used by bin/berth).", true,
                        AotTraining.options(), line -> AotTraining.run(line, out)));
    }

    public static void main(String[] args) {
        // Netty's allocator events load the JFR event classes on the first allocation, about 0.1 s of
        // every start (bench W7); whoever profiles Netty's allocator sets this back to true.
        if (System.getProperty("io.netty.jfr.enabled") == null) {
            System.setProperty("io.netty.jfr.enabled", "false");
        }
        int code = new BerthCommand(new PrintWriter(System.out, true), new PrintWriter(System.err, true)).execute(args);
        if (code != 0 || !running) {
            System.exit(code);
        }
    }

    /** Runs one command line and returns its exit code; {@code serve} returns only once the registry has stopped. */
    public int execute(String... args) {
        try {
            return dispatch(args);
        } catch (ParseException e) {
            err.println("berth: " + e.getMessage());
            err.println("Try 'berth --help'.");
            return USAGE;
        } catch (ConfigException e) {
            err.println("berth: configuration error: " + e.getMessage());
            return USAGE;
        } catch (Exception e) {
            err.println("berth: " + e);
            e.printStackTrace(err);
            return 1;
        } finally {
            out.flush();
            err.flush();
        }
    }

    private int dispatch(String[] args) throws Exception {
        String first = args.length == 0 ? "--help" : args[0];
        switch (first) {
            case "-h", "--help" -> {
                usage();
                return 0;
            }
            case "-V", "--version" -> {
                out.println(version());
                return 0;
            }
            case "help" -> {
                if (args.length == 1) {
                    usage();
                    return 0;
                }
                verb(args[1]).help(out);
                return 0;
            }
            default -> {
                Verb verb = verb(first);
                CommandLine line = DefaultParser.builder().get().parse(verb.options(), Arrays.copyOfRange(args, 1, args.length));
                if (line.hasOption(HELP)) {
                    verb.help(out);
                    return 0;
                }
                return verb.action().run(line);
            }
        }
    }

    private Verb verb(String name) throws ParseException {
        for (Verb v : verbs) {
            if (v.name().equals(name)) {
                return v;
            }
        }
        throw new ParseException("unknown command '" + name + "'");
    }

    private void usage() {
        out.println("Usage: berth [-hV] COMMAND");
        out.println("A registry:2-compatible OCI registry.");
        out.println("  -h, --help      Show this help and exit.");
        out.println("  -V, --version   Print version information and exit.");
        out.println("Commands:");
        for (Verb v : verbs) {
            if (!v.hidden()) {
                out.printf("  %-16s %s%n", v.name(), v.description());
            }
        }
        out.printf("  %-16s %s%n", "help", "Show the help of a command.");
    }

    static String version() {
        String v = BerthCommand.class.getPackage().getImplementationVersion();
        return "berth " + (v == null ? "development" : v) + " (registry:2 compatible, OCI Distribution 1.1)";
    }

    // ------------------------------------------------------------------ verbs

    private int serve(CommandLine line) throws InterruptedException, ParseException {
        RegistryConfig cfg = configuration(optionalPath(line), out);
        Berth berth = Berth.builder().config(cfg).build();
        berth.start();
        out.println("berth: serving " + berth.baseUri() + "/v2/ with data in " + berth.storageDirectory());
        return runUntilShutdown(berth);
    }

    /** Leaves {@code service} running until the JVM is asked to stop (SIGTERM), then closes it. */
    private int runUntilShutdown(AutoCloseable service) throws InterruptedException {
        out.flush();
        running = true;
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                service.close();
            } catch (Exception e) {
                LoggerFactory.getLogger(BerthCommand.class).warn("stopping failed", e);
            } finally {
                stopped.countDown();
            }
        }, "berth-shutdown"));
        stopped.await();
        return 0;
    }

    private int admission(CommandLine line) throws InterruptedException, ParseException {
        Path config = optionalPath(line);
        if (config == null) {
            throw new ParseException("admission needs the CONFIG file");
        }
        RegistryConfig cfg = configuration(config, out);
        io.berth.server.http.StandaloneAdmission webhook = io.berth.server.http.StandaloneAdmission.start(cfg);
        out.println("berth: admission webhook on https://" + webhook.address().getHostString() + ":" + webhook.address().getPort() + " for images in "
                + java.util.Objects.requireNonNull(java.util.Objects.requireNonNull(cfg.trust().admission()).registry()).url());
        return runUntilShutdown(webhook);
    }

    private int collectGarbage(CommandLine line) throws ParseException {
        Path config = optionalPath(line);
        if (config == null) {
            throw new ParseException("garbage-collect needs the CONFIG file");
        }
        boolean dryRun = line.hasOption("dry-run");
        RegistryConfig cfg = configuration(config, out);
        Duration grace = cfg.gc().gracePeriod();
        if (line.hasOption("grace-period")) {
            try {
                grace = Duration.parse("PT" + line.getOptionValue("grace-period").strip().toUpperCase(java.util.Locale.ROOT));
            } catch (java.time.format.DateTimeParseException e) {
                throw new ParseException("--grace-period: not a duration such as 1h, 30m or 0s: " + line.getOptionValue("grace-period"));
            }
        }
        GarbageCollector.Result r;
        try (RegistryStorage storage = io.berth.server.Berth.openStorage(cfg, java.time.Clock.systemUTC())) {
            r = storage.collectGarbage(dryRun, line.hasOption("delete-untagged"), grace);
        }
        out.printf("%s%d manifests and %d blobs eligible for deletion (%d bytes)%n",
                dryRun ? "dry run: " : "", r.manifestsDeleted(), r.blobsDeleted(), r.bytesFreed());
        return 0;
    }

    private static Path requiredPath(CommandLine line, String verb) throws ParseException {
        Path config = optionalPath(line);
        if (config == null) {
            throw new ParseException(verb + " needs the CONFIG file");
        }
        return config;
    }

    private static @Nullable Path optionalPath(CommandLine line) throws ParseException {
        List<String> args = line.getArgList();
        if (args.size() > 1) {
            throw new ParseException("unexpected arguments after " + args.get(0) + ": " + args.subList(1, args.size()));
        }
        return args.isEmpty() ? null : Path.of(args.get(0));
    }

    /** Set once {@code serve} is up, so that {@link #main} leaves the JVM running. */
    private static volatile boolean running;

    /** Reads the configuration as registry:2 does: the argument, else REGISTRY_CONFIGURATION_PATH, else defaults. */
    static RegistryConfig configuration(@Nullable Path file, PrintWriter out) {
        Map<String, String> env = System.getenv();
        if (file == null && env.get("REGISTRY_CONFIGURATION_PATH") != null) {
            file = Path.of(env.get("REGISTRY_CONFIGURATION_PATH"));
        }
        RegistryConfig config = file != null ? ConfigLoader.load(file, env) : ConfigLoader.loadDefaults(defaultDataDir(env), env);
        Level level = Level.toLevel(config.logLevel(), Level.INFO);
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).setLevel(level);
        io.berth.server.logging.LogOutput.apply(config.logOutput().formatter(), config.logOutput().fields());
        Logger log = LoggerFactory.getLogger(BerthCommand.class);
        config.warnings().forEach(log::warn);
        if (file == null) {
            out.println("berth: no configuration given; using embedded defaults");
        }
        return config;
    }

    private static Path defaultDataDir(Map<String, String> env) {
        String xdg = env.get("XDG_DATA_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "share");
        return base.resolve("berth");
    }

    /** What a verb does with its parsed command line; returns the exit code. */
    interface Action {
        int run(CommandLine line) throws Exception;
    }

    /** One verb: its name, its arguments' synopsis, its options (plus --help) and what it does. */
    private record Verb(String name, String synopsis, String description, boolean hidden, Options options, Action action) {
        Verb {
            options.addOption(HELP);
        }

        void help(PrintWriter to) {
            try {
                HelpFormatter.builder().setHelpAppendable(new TextHelpAppendable(to)).setShowSince(false).get()
                        .printHelp("berth " + name + " [OPTIONS] " + synopsis, description, options, "", false);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
