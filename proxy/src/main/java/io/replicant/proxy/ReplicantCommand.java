package io.replicant.proxy;

import java.nio.file.Path;
import java.sql.SQLException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.netty.util.ResourceLeakDetector;
import io.replicant.config.ConfigBuilder;
import io.replicant.config.ConfigException;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.Version;
import io.replicant.config.YamlConfigLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/** The {@code replicant} command line: {@code replicant proxy --config replicant.yaml}. */
@Command(name = "replicant", mixinStandardHelpOptions = true, version = "replicant " + Version.NUMBER,
        description = "Read/write splitting and replication for PostgreSQL.",
        subcommands = {ReplicantCommand.Proxy.class})
public final class ReplicantCommand {

    public static void main(String[] args) {
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            // Netty's default samples buffers for leaks, then records a stack trace at every use of a sampled one:
            // the tests keep that check, a running proxy need not pay for it on its hot path
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
        System.exit(new CommandLine(new ReplicantCommand()).execute(args));
    }

    @Command(name = "proxy", mixinStandardHelpOptions = true,
            description = "Run the PostgreSQL wire-protocol proxy until interrupted.")
    static final class Proxy implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE",
                description = "YAML configuration (see README: YAML reference).")
        Path config;

        @Option(names = "--listen", paramLabel = "HOST:PORT",
                description = "Overrides proxy.listen (default 127.0.0.1:6432).")
        String listen;

        /** The file, with the command line's overrides; read again on RELOAD and SIGHUP. */
        private ReplicantConfig load() {
            ConfigBuilder builder = YamlConfigLoader.load(config);
            if (listen != null) {
                builder.set(ReplicantOptions.PROXY_LISTEN.name(), listen, "--listen", false);
            }
            return builder.build();
        }

        @Override
        public Integer call() throws InterruptedException {
            ReplicantProxy proxy;
            try {
                proxy = ReplicantProxy.start(this::load, null);
            } catch (ConfigException e) {
                System.err.println("replicant: " + e.getMessage());
                return 2;
            } catch (SQLException e) {
                System.err.println("replicant: " + e.getMessage() + " (SQLSTATE " + e.getSQLState() + ")");
                return 1;
            }
            reloadOnSighup(proxy);
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                proxy.close();
                stopped.countDown();
            }, "replicant-shutdown"));
            System.out.println("replicant proxy listening on " + proxy.address());
            stopped.await();
            return 0;
        }

        private static void reloadOnSighup(ReplicantProxy proxy) {
            try {
                Signal.handle(new Signal("HUP"), signal -> {
                    try {
                        proxy.context().reload();
                    } catch (ConfigException e) {
                        System.err.println("replicant: SIGHUP: the configuration was not reloaded; the running one "
                                + "stays: " + e.getMessage());
                    }
                });
            } catch (IllegalArgumentException e) {
                System.err.println("replicant: no SIGHUP on this platform; use the admin console's RELOAD");
            }
        }
    }
}
