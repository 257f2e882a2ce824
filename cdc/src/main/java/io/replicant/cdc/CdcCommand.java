package io.replicant.cdc;

import java.nio.file.Path;
import java.sql.SQLException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.replicant.config.ConfigException;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.Version;
import io.replicant.config.YamlConfigLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code replicant cdc --config replicant.yaml} runs the pipeline until interrupted; {@code replicant cdc status
 * --config replicant.yaml} prints the slot and each follower's position and lag.
 */
@Command(name = "replicant cdc", mixinStandardHelpOptions = true, version = "replicant " + Version.NUMBER,
        description = "Stream every committed change of the primary to the followers in cdc.followers.",
        subcommands = {CdcCommand.Status.class})
public final class CdcCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE",
            description = "YAML configuration (see README: CDC).", scope = CommandLine.ScopeType.INHERIT)
    Path config;

    public static void main(String[] args) {
        System.exit(new CommandLine(new CdcCommand()).execute(args));
    }

    @Override
    public Integer call() throws InterruptedException {
        CdcPipeline pipeline;
        try {
            pipeline = CdcPipeline.start(load(config), null);
        } catch (ConfigException | SQLException e) {
            return failed(e);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            pipeline.close();
            stopped.countDown();
        }, "replicant-shutdown"));
        System.out.println("replicant cdc: streaming to " + pipeline.followers().size() + " follower(s)");
        stopped.await();
        return 0;
    }

    /** Prints the error and returns the exit code: 2 for a configuration error, 1 for anything else. */
    private static int failed(Exception e) {
        if (e instanceof SQLException sql) {
            System.err.println("replicant: " + sql.getMessage() + " (SQLSTATE " + sql.getSQLState() + ")");
            return 1;
        }
        System.err.println("replicant: " + e.getMessage());
        return 2;
    }

    static ReplicantConfig load(Path file) {
        return YamlConfigLoader.load(file).build();
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Print the slot and each follower's position and lag.")
    static final class Status implements Callable<Integer> {
        @CommandLine.ParentCommand
        CdcCommand parent;

        @Override
        public Integer call() {
            try {
                System.out.print(CdcStatus.read(load(parent.config)).format());
                return 0;
            } catch (ConfigException | SQLException e) {
                return failed(e);
            }
        }
    }
}
