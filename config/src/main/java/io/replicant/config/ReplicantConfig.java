package io.replicant.config;

import java.util.List;
import java.util.Map;

/**
 * A complete, validated Replicant configuration, whichever source it came from.
 *
 * @param hosts           the servers; with {@code primary: first} the first one is the primary
 * @param options         values for the options in {@link ReplicantOptions}
 * @param rules           routing rules, in order
 * @param followers       CDC followers ({@code cdc.followers})
 * @param jdbcProperties  pgjdbc connection properties passed to every backend connection
 * @param source          where this configuration came from, for logs (never contains a password)
 */
public record ReplicantConfig(List<HostSpec> hosts, OptionValues options, List<RuleSpec> rules,
        List<FollowerSpec> followers, Map<String, String> jdbcProperties, String source) {

    public ReplicantConfig {
        hosts = List.copyOf(hosts);
        rules = List.copyOf(rules);
        followers = List.copyOf(followers);
        jdbcProperties = Map.copyOf(jdbcProperties);
    }

    public <T> T get(Option<T> option) {
        return options.get(option);
    }
}
