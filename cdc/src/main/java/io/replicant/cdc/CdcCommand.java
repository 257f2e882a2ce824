package io.replicant.cdc;

import java.nio.file.Path;
import java.sql.SQLException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.replicant.config.ConfigException;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.YamlConfigLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code replicant cdc --config replicant.yaml} runs the pipeline until interrupted; {@code replicant cdc status
 * --config replicant.yaml} prints the slot and each follower's position and lag.
 */
@Command(name = "replicant cdc", mixinStandardHelpOptions = true, version = "replicant 0.1.0",
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
        } catch (ConfigException e) {
            System.err.println("replicant: " + e.getMessage());
            return 2;
        } catch (SQLException e) {
            System.err.println("replicant: " + e.getMessage() + " (SQLSTATE " + e.getSQLState() + ")");
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            pipeline.close();
            stopped.countDown();
        }, "replicant-shutdown"));
        System.out.println("replicant cdc: streaming to " + pipeline.followers().size() + " follower(s)");
        while (!stopped.await(1, java.util.concurrent.TimeUnit.SECONDS)) {
            if (pipeline.failure() != null) {
                System.err.println("replicant: the change source stopped: " + pipeline.failure().getMessage());
                return 1;
            }
        }
        return 0;
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
            } catch (ConfigException e) {
                System.err.println("replicant: " + e.getMessage());
                return 2;
            } catch (SQLException e) {
                System.err.println("replicant: " + e.getMessage() + " (SQLSTATE " + e.getSQLState() + ")");
                return 1;
            }
        }
    }
}
