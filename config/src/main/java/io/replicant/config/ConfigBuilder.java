package io.replicant.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.postgresql.PGProperty;

/**
 * Collects settings from one or more sources (YAML, then Properties, then URL parameters; later ones win)
 * and builds a {@link ReplicantConfig}. Every value is validated as it is set, so an error names the
 * source it came from.
 */
public final class ConfigBuilder {
    private final Map<Option<?>, Object> options = new LinkedHashMap<>();
    private final Map<String, String> jdbcProperties = new LinkedHashMap<>();
    private final List<HostSpec> hosts = new ArrayList<>();
    private final List<RuleSpec> rules = new ArrayList<>();
    private final List<FollowerSpec> followers = new ArrayList<>();
    private String source = "";
    /** pgjdbc properties with a fixed set of values that decide how connections are secured. */
    private static final List<String> CHECKED_CHOICES = List.of(PGProperty.SSL_MODE.getName(),
            PGProperty.CHANNEL_BINDING.getName(), PGProperty.SSL_NEGOTIATION.getName(),
            PGProperty.GSS_ENC_MODE.getName());

    /**
     * Sets a registry option, or, for a URL or Properties key that is not one, a pgjdbc connection property.
     *
     * @param allowJdbcPassthrough true for URL and Properties keys; YAML has a separate {@code jdbc:} section
     */
    public ConfigBuilder set(String key, String text, String origin, boolean allowJdbcPassthrough) {
        Option<?> option = ReplicantOptions.byName(key);
        if (option != null) {
            if (text.isEmpty() && !option.secret()) {
                throw new ConfigException(key, "has no value; " + option.type().description() + " is expected", origin);
            }
            options.put(option, option.parse(text, key, origin));
        } else if (allowJdbcPassthrough && isJdbcProperty(key)) {
            jdbcProperties.put(key, checkChoice(key, text, key, origin));
        } else {
            List<String> known = new ArrayList<>();
            ReplicantOptions.all().forEach(o -> known.add(o.name()));
            throw new ConfigException(key, "unknown option" + Suggestions.didYouMean(key, known)
                    + (allowJdbcPassthrough ? " (neither a Replicant option nor a pgjdbc connection property)" : ""),
                    origin);
        }
        return this;
    }

    /** Sets a pgjdbc connection property from the YAML {@code jdbc:} section. */
    public ConfigBuilder setJdbcProperty(String key, String text, String path, String origin) {
        if (!isJdbcProperty(key)) {
            List<String> known = new ArrayList<>();
            for (PGProperty p : PGProperty.values()) {
                known.add(p.getName());
            }
            throw new ConfigException(path, "unknown pgjdbc connection property" + Suggestions.didYouMean(key, known),
                    origin);
        }
        jdbcProperties.put(key, checkChoice(key, text, path, origin));
        return this;
    }

    /**
     * The connection-security properties are checked here, where the error can name the source, rather than at
     * the first connection; the others go to pgjdbc as they are.
     */
    private static String checkChoice(String key, String text, String path, String origin) {
        if (!CHECKED_CHOICES.contains(key)) {
            return text;
        }
        String[] choices = PGProperty.forName(key).getChoices();
        for (String choice : choices) {
            if (choice.equalsIgnoreCase(text)) {
                return choice;
            }
        }
        throw new ConfigException(path, "expected one of " + String.join(" | ", choices) + ", got '" + text + "'",
                origin);
    }

    static boolean isJdbcProperty(String key) {
        // user and password are Replicant options; the PG* names are pgjdbc's URL internals.
        return PGProperty.forName(key) != null && !key.equals("user") && !key.equals("password")
                && !key.startsWith("PG");
    }

    public ConfigBuilder addHost(HostSpec host) {
        hosts.add(host);
        return this;
    }

    /** Replaces any hosts set by an earlier source (a URL's host list wins over a file's). */
    public ConfigBuilder clearHosts() {
        hosts.clear();
        return this;
    }

    public ConfigBuilder addRule(RuleSpec rule) {
        rules.add(rule);
        return this;
    }

    public ConfigBuilder addFollower(FollowerSpec follower) {
        followers.add(follower);
        return this;
    }

    public ConfigBuilder source(String source) {
        this.source = source;
        return this;
    }

    public ReplicantConfig build() {
        if (hosts.isEmpty()) {
            throw new ConfigException("hosts", "at least one host is required (the primary)", source);
        }
        return new ReplicantConfig(hosts, new OptionValues(options), rules, followers, jdbcProperties, source);
    }
}
