package io.replicant.config;

import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

/**
 * The {@code jdbc:replicant:} URL grammar, parsed without I/O beyond reading a referenced YAML file:
 *
 * <pre>
 * jdbc:replicant:postgresql://host1[:port],host2[:port],…/[database][?option=value&amp;…]
 * jdbc:replicant:file:/path/to/replicant.yaml[?option=value&amp;…]
 * jdbc:replicant:classpath:replicant.yaml[?option=value&amp;…]
 * </pre>
 *
 * Settings are layered: the YAML file, then the {@link Properties} passed to the driver, then the URL's
 * query parameters. Query and Properties keys are Replicant options or pgjdbc connection properties.
 */
public final class ReplicantUrl {
    public static final String PREFIX = "jdbc:replicant:";
    private static final String POSTGRESQL = "postgresql://";
    private static final String FILE = "file:";
    private static final String CLASSPATH = "classpath:";

    private ReplicantUrl() {
    }

    /** True for every URL starting with {@code jdbc:replicant:}, well-formed or not, so a malformed one gets a precise error. */
    public static boolean accepts(String url) {
        return url != null && url.startsWith(PREFIX);
    }

    public static ReplicantConfig parse(String url, Properties info) {
        return parse(url, info, System.getenv(), Thread.currentThread().getContextClassLoader());
    }

    public static ReplicantConfig parse(String url, Properties info, Map<String, String> env, ClassLoader loader) {
        if (!accepts(url)) {
            throw malformed("the URL must start with " + PREFIX);
        }
        String rest = url.substring(PREFIX.length());
        int q = rest.indexOf('?');
        String query = q >= 0 ? rest.substring(q + 1) : "";
        String body = q >= 0 ? rest.substring(0, q) : rest;

        ConfigBuilder builder;
        if (body.startsWith(POSTGRESQL)) {
            builder = new ConfigBuilder();
            readHostsAndDatabase(body.substring(POSTGRESQL.length()), builder);
            builder.source(PREFIX + POSTGRESQL + body.substring(POSTGRESQL.length()));
        } else if (body.startsWith(FILE)) {
            String file = body.substring(FILE.length());
            if (file.isEmpty()) {
                throw malformed("file: needs a path, e.g. jdbc:replicant:file:/etc/replicant.yaml");
            }
            builder = YamlConfigLoader.load(Path.of(file), env);
        } else if (body.startsWith(CLASSPATH)) {
            builder = readClasspath(body.substring(CLASSPATH.length()), env, loader);
        } else {
            int colon = body.indexOf(':');
            String sub = colon >= 0 ? body.substring(0, colon) : body;
            throw malformed("unknown sub-protocol '" + sub + "'; expected postgresql://, file: or classpath:");
        }
        if (info != null) {
            for (String key : info.stringPropertyNames()) {
                builder.set(key, info.getProperty(key), "connection property", true);
            }
        }
        readQuery(query, builder);
        return builder.build();
    }

    private static void readHostsAndDatabase(String authorityAndPath, ConfigBuilder builder) {
        int slash = authorityAndPath.indexOf('/');
        String authority = slash >= 0 ? authorityAndPath.substring(0, slash) : authorityAndPath;
        String database = slash >= 0 ? authorityAndPath.substring(slash + 1) : "";
        if (authority.isEmpty()) {
            throw malformed("no host given; expected jdbc:replicant:postgresql://primary[:port],replica[:port]/database");
        }
        if (authority.contains("@")) {
            throw malformed("credentials in the host part are not supported; use ?user=…&password=… or Properties");
        }
        String[] hosts = authority.split(",", -1);
        for (int i = 0; i < hosts.length; i++) {
            if (hosts[i].isEmpty()) {
                throw malformed("empty host at position " + (i + 1) + " of the host list");
            }
            try {
                builder.addHost(YamlConfigLoader.parseHostPort(hosts[i], "host " + (i + 1), "URL"));
            } catch (ConfigException e) {
                throw new ConfigException("", e.getMessage(), "", SqlState.CONNECTION_UNABLE_TO_CONNECT, e);
            }
        }
        if (!database.isEmpty()) {
            builder.set(ReplicantOptions.DATABASE.name(), decode(database), "URL", false);
        }
    }

    private static ConfigBuilder readClasspath(String resource, Map<String, String> env, ClassLoader loader) {
        if (resource.isEmpty()) {
            throw malformed("classpath: needs a resource name, e.g. jdbc:replicant:classpath:replicant.yaml");
        }
        ClassLoader cl = loader != null ? loader : ReplicantUrl.class.getClassLoader();
        String name = resource.startsWith("/") ? resource.substring(1) : resource;
        try (InputStream in = cl.getResourceAsStream(name)) {
            if (in == null) {
                throw new ConfigException("", "classpath resource not found: " + name, "",
                        SqlState.CONFIG_FILE_ERROR, null);
            }
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return YamlConfigLoader.parse(name, text, env).source("classpath:" + name);
        } catch (IOException e) {
            throw new ConfigException("", "cannot read classpath resource " + name + ": " + e.getMessage(), "",
                    SqlState.CONFIG_FILE_ERROR, e);
        }
    }

    private static void readQuery(String query, ConfigBuilder builder) {
        if (query.isEmpty()) {
            return;
        }
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw malformed("URL parameter '" + (eq == 0 ? pair : pair) + "' is not of the form name=value");
            }
            builder.set(decode(pair.substring(0, eq)), decode(pair.substring(eq + 1)), "URL parameter", true);
        }
    }

    private static String decode(String text) {
        try {
            return URLDecoder.decode(text, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw malformed("bad percent-encoding in URL");
        }
    }

    private static ConfigException malformed(String problem) {
        return new ConfigException("", "malformed URL: " + problem, "", SqlState.CONNECTION_UNABLE_TO_CONNECT, null);
    }
}
