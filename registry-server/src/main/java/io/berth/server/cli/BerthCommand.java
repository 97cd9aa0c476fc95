package io.berth.server.cli;

import ch.qos.logback.classic.Level;
import io.berth.server.Berth;
import io.berth.server.config.ConfigException;
import io.berth.server.config.ConfigLoader;
import io.berth.server.config.RegistryConfig;
import io.berth.storage.GarbageCollector;
import io.berth.storage.RegistryStorage;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code berth}: the same verbs as registry:2's binary. */
@Command(name = "berth", mixinStandardHelpOptions = true, versionProvider = BerthCommand.Version.class,
        description = "A registry:2-compatible OCI registry.",
        subcommands = {BerthCommand.Serve.class, BerthCommand.GarbageCollect.class, AotTraining.class, CommandLine.HelpCommand.class})
public final class BerthCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.@Nullable CommandSpec spec;

    public static void main(String[] args) {
        int code = new CommandLine(new BerthCommand())
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    if (e instanceof ConfigException) {
                        cmd.getErr().println("berth: configuration error: " + e.getMessage());
                        return 2;
                    }
                    throw e;
                })
                .execute(args);
        if (code != 0 || !Serve.running) {
            System.exit(code);
        }
    }

    @Override
    public Integer call() {
        if (spec != null) {
            spec.commandLine().usage(spec.commandLine().getOut());
        }
        return 0;
    }

    /** Reads the configuration as registry:2 does: the argument, else REGISTRY_CONFIGURATION_PATH, else defaults. */
    static RegistryConfig configuration(@Nullable Path file, PrintWriter out) {
        Map<String, String> env = System.getenv();
        if (file == null && env.get("REGISTRY_CONFIGURATION_PATH") != null) {
            file = Path.of(env.get("REGISTRY_CONFIGURATION_PATH"));
        }
        RegistryConfig config = file != null ? ConfigLoader.load(file, env) : ConfigLoader.loadDefaults(defaultDataDir(env), env);
        Level level = Level.toLevel(config.logLevel(), Level.INFO);
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).setLevel(level);
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

    @Command(name = "serve", mixinStandardHelpOptions = true, description = "Serve the registry (registry:2's `serve`).")
    static final class Serve implements Callable<Integer> {
        static volatile boolean running;

        @Parameters(index = "0", arity = "0..1", paramLabel = "CONFIG", description = "registry:2 config.yml")
        @Nullable Path config;

        @CommandLine.Spec
        CommandLine.Model.@Nullable CommandSpec spec;

        @Override
        public Integer call() throws InterruptedException {
            PrintWriter out = spec == null ? new PrintWriter(System.out, true) : spec.commandLine().getOut();
            RegistryConfig cfg = configuration(config, out);
            Berth berth = Berth.builder().config(cfg).build();
            berth.start();
            out.println("berth: serving " + berth.baseUri() + "/v2/ with data in " + berth.storageDirectory());
            out.flush();
            running = true;
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                berth.close();
                stopped.countDown();
            }, "berth-shutdown"));
            stopped.await();
            return 0;
        }
    }

    @Command(name = "garbage-collect", mixinStandardHelpOptions = true,
            description = "Delete blobs no manifest references (registry:2's `garbage-collect`). Run it while nothing is pushed.")
    static final class GarbageCollect implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "CONFIG", description = "registry:2 config.yml")
        Path config = Path.of("");

        @Option(names = {"-d", "--dry-run"}, description = "Only print what would be deleted.")
        boolean dryRun;

        @Option(names = {"-m", "--delete-untagged"}, description = "Also delete manifests no tag reaches (index children and referrers of tagged images are kept).")
        boolean deleteUntagged;

        @CommandLine.Spec
        CommandLine.Model.@Nullable CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec == null ? new PrintWriter(System.out, true) : spec.commandLine().getOut();
            RegistryConfig cfg = configuration(config, out);
            RegistryStorage storage = RegistryStorage.open(cfg.storage().rootDirectory());
            GarbageCollector.Result r = storage.collectGarbage(dryRun, deleteUntagged);
            out.printf("%s%d manifests and %d blobs eligible for deletion (%d bytes)%n",
                    dryRun ? "dry run: " : "", r.manifestsDeleted(), r.blobsDeleted(), r.bytesFreed());
            return 0;
        }
    }

    /** Prints the version from the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = BerthCommand.class.getPackage().getImplementationVersion();
            return new String[] {"berth " + (v == null ? "development" : v) + " (registry:2 compatible, OCI Distribution 1.1)"};
        }
    }
}
