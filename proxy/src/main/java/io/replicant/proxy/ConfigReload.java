package io.replicant.proxy;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import io.replicant.config.ConfigException;
import io.replicant.config.Option;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;

/**
 * What a running proxy can take from a reloaded configuration (RELOAD or SIGHUP): routing options and rules,
 * consistency, client limits and timeouts, credentials for new connections (proxy.auth_file is read again).
 * Anything else (hosts, the listening address, pools, the monitor) needs a restart, and a file that changes it is
 * refused as a whole so the proxy never runs half of one configuration and half of another.
 */
public final class ConfigReload {
    /** Options a reload applies; every other option needs a restart. */
    public static final Set<Option<?>> RELOADABLE = Set.of(ReplicantOptions.LOAD_BALANCE,
            ReplicantOptions.LOAD_BALANCE_SCOPE,
            ReplicantOptions.PRIMARY_READS, ReplicantOptions.READ_ONLY_FUNCTIONS, ReplicantOptions.LAG_FALLBACK,
            ReplicantOptions.LAG_PREFER_LEAST_LAGGED, ReplicantOptions.CONSISTENCY, ReplicantOptions.PASSWORD,
            ReplicantOptions.PROXY_AUTH, ReplicantOptions.PROXY_AUTH_FILE, ReplicantOptions.PROXY_MAX_CLIENTS, ReplicantOptions.PROXY_IDLE_TIMEOUT,
            ReplicantOptions.PROXY_IDLE_IN_TRANSACTION_TIMEOUT, ReplicantOptions.PROXY_SHUTDOWN_TIMEOUT,
            ReplicantOptions.PROXY_MAX_MESSAGE_SIZE, ReplicantOptions.PROXY_POOL_WAIT_TIMEOUT,
            ReplicantOptions.PROXY_TLS_CERT, ReplicantOptions.PROXY_TLS_KEY, ReplicantOptions.PROXY_TLS_REQUIRED);

    /** Reads the configuration again (the file the proxy was started from). */
    @FunctionalInterface
    public interface Source {
        ReplicantConfig load() throws ConfigException;
    }

    private ConfigReload() {
    }

    /**
     * @throws ConfigException if {@code next} changes something only a restart can change
     */
    static void check(ReplicantConfig running, ReplicantConfig next) {
        List<String> needRestart = new ArrayList<>();
        if (!running.hosts().equals(next.hosts())) {
            needRestart.add("hosts");
        }
        if (!running.jdbcProperties().equals(next.jdbcProperties())) {
            needRestart.add("jdbc properties");
        }
        for (Option<?> option : ReplicantOptions.all()) {
            if (!RELOADABLE.contains(option) && !Objects.equals(running.get(option), next.get(option))) {
                needRestart.add(option.name());
            }
        }
        if (!needRestart.isEmpty()) {
            throw new ConfigException(String.join(", ", needRestart),
                    "changed, but only a restart applies it (a reload applies routing options, rules, consistency, "
                            + "password, proxy.auth_file, proxy.tls and the proxy's client limits and timeouts)",
                    next.source());
        }
    }
}
