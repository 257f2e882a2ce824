package io.replicant.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

/**
 * Reads the YAML configuration. It works on the YAML node tree rather than binding to beans so every
 * error can name the YAML path and line; unknown keys are errors with the closest known key suggested.
 */
public final class YamlConfigLoader {
    private static final Set<String> SECTIONS = Set.of("hosts", "rules", "jdbc");
    private static final Set<String> RULE_KEYS = Set.of("name", "match", "route", "tag");
    private static final Set<String> MATCH_KEYS = Set.of("kind", "tables", "sql", "user", "application_name", "hint");
    private static final Set<String> HOST_KEYS = Set.of("host", "port", "weight", "tags", "replication");
    private static final String FOLLOWERS = "cdc.followers";
    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_-]*");
    private static final String IDENTIFIER = "[A-Za-z_][A-Za-z0-9_$]*";
    private static final Pattern SIMPLE_NAME = Pattern.compile(IDENTIFIER);
    private static final Pattern QUALIFIED_NAME = Pattern.compile("(" + IDENTIFIER + "\\.)?" + IDENTIFIER);
    private static final Pattern TABLE_NAME = Pattern.compile(IDENTIFIER + "\\." + IDENTIFIER);
    private static final Pattern COLUMN_NAME = Pattern.compile(IDENTIFIER + "\\." + IDENTIFIER + "\\." + IDENTIFIER);

    private final String fileName;
    private final EnvInterpolator env;

    private YamlConfigLoader(String fileName, Map<String, String> env) {
        this.fileName = fileName;
        this.env = new EnvInterpolator(env);
    }

    /** Loads a YAML file, interpolating {@code ${VAR}} from the process environment. */
    public static ConfigBuilder load(Path file) {
        return load(file, System.getenv());
    }

    public static ConfigBuilder load(Path file, Map<String, String> env) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException("", "configuration file not found: " + file, "", SqlState.CONFIG_FILE_ERROR, e);
        } catch (IOException e) {
            throw new ConfigException("", "cannot read configuration file " + file + ": " + e.getMessage(), "",
                    SqlState.CONFIG_FILE_ERROR, e);
        }
        return parse(file.getFileName().toString(), text, env).source(file.toString());
    }

    /** Parses YAML text; {@code name} is used in error locations ({@code name:line}). */
    public static ConfigBuilder parse(String name, String text, Map<String, String> env) {
        return new YamlConfigLoader(name, env).parse(text);
    }

    private ConfigBuilder parse(String text) {
        Optional<Node> root;
        try {
            root = new Compose(LoadSettings.builder().setLabel(fileName).build()).composeString(text);
        } catch (MarkedYamlEngineException e) {
            String where = e.getProblemMark().map(m -> fileName + ":" + (m.getLine() + 1)).orElse(fileName);
            throw new ConfigException("", "invalid YAML: " + e.getProblem(), where);
        } catch (YamlEngineException e) {
            throw new ConfigException("", "invalid YAML: " + e.getMessage(), fileName);
        }
        ConfigBuilder builder = new ConfigBuilder().source(fileName);
        if (root.isEmpty()) {
            throw new ConfigException("", "the file is empty", fileName);
        }
        readOptions(root.get(), "", builder);
        return builder;
    }

    private void readOptions(Node node, String prefix, ConfigBuilder builder) {
        MappingNode mapping = mapping(node, prefix);
        for (NodeTuple tuple : entries(mapping, prefix)) {
            String key = key(tuple);
            String path = prefix.isEmpty() ? key : prefix + "." + key;
            Node value = tuple.getValueNode();
            if (prefix.isEmpty() && SECTIONS.contains(key)) {
                switch (key) {
                    case "hosts":
                        readHosts(value, builder);
                        break;
                    case "rules":
                        readRules(value, builder);
                        break;
                    default:
                        readJdbc(value, builder);
                }
            } else if (path.equals(FOLLOWERS)) {
                readFollowers(value, builder);
            } else if (ReplicantOptions.byName(path) != null) {
                builder.set(path, optionText(value, path, ReplicantOptions.byName(path)), where(value), false);
            } else if (isOptionPrefix(path)) {
                readOptions(value, path, builder);
            } else {
                throw new ConfigException(path, "unknown key" + Suggestions.didYouMean(key, keysAt(prefix)),
                        where(tuple.getKeyNode()));
            }
        }
    }

    private static boolean isOptionPrefix(String path) {
        return FOLLOWERS.startsWith(path + ".") || ReplicantOptions.all().stream().anyMatch(o -> o.name().startsWith(path + "."));
    }

    /** The keys valid directly under {@code prefix}, for suggestions. */
    private static Set<String> keysAt(String prefix) {
        Set<String> keys = new LinkedHashSet<>();
        String start = prefix.isEmpty() ? "" : prefix + ".";
        for (Option<?> option : ReplicantOptions.all()) {
            if (option.name().startsWith(start)) {
                String rest = option.name().substring(start.length());
                keys.add(rest.contains(".") ? rest.substring(0, rest.indexOf('.')) : rest);
            }
        }
        if (prefix.isEmpty()) {
            keys.addAll(SECTIONS);
        }
        if (prefix.equals("cdc")) {
            keys.add("followers");
        }
        return keys;
    }

    private String optionText(Node value, String path, Option<?> option) {
        if (value instanceof SequenceNode && option.type().isList()) {
            List<String> parts = new ArrayList<>();
            for (Node item : ((SequenceNode) value).getValue()) {
                parts.add(scalar(item, path));
            }
            return String.join(",", parts);
        }
        return scalar(value, path);
    }

    private void readHosts(Node node, ConfigBuilder builder) {
        List<Node> items = sequence(node, "hosts");
        if (items.isEmpty()) {
            throw new ConfigException("hosts", "at least one host is required (the primary)", where(node));
        }
        for (int i = 0; i < items.size(); i++) {
            builder.addHost(readHost(items.get(i), "hosts[" + i + "]"));
        }
    }

    private HostSpec readHost(Node node, String path) {
        if (node instanceof ScalarNode) {
            return parseHostPort(scalar(node, path), path, where(node));
        }
        MappingNode mapping = mapping(node, path);
        String host = null;
        int port = HostSpec.DEFAULT_PORT;
        int weight = 1;
        List<String> tags = List.of();
        HostSpec.Replication replication = HostSpec.Replication.STREAMING;
        for (NodeTuple tuple : entries(mapping, path)) {
            String key = key(tuple);
            String keyPath = path + "." + key;
            Node value = tuple.getValueNode();
            switch (key) {
                case "host":
                    host = scalar(value, keyPath);
                    break;
                case "port":
                    port = parseInt(scalar(value, keyPath), 1, 65535, keyPath, where(value));
                    break;
                case "weight":
                    weight = parseInt(scalar(value, keyPath), 0, 1000, keyPath, where(value));
                    break;
                case "tags":
                    tags = names(value, keyPath);
                    break;
                case "replication":
                    replication = enumValue(HostSpec.Replication.class, value, keyPath);
                    break;
                default:
                    throw new ConfigException(keyPath, "unknown key" + Suggestions.didYouMean(key, HOST_KEYS),
                            where(tuple.getKeyNode()));
            }
        }
        if (host == null || host.isBlank()) {
            throw new ConfigException(path + ".host", "is required", where(node));
        }
        if (replication == HostSpec.Replication.CDC && tags.isEmpty()) {
            throw new ConfigException(path + ".tags", "a CDC follower (replication: cdc) serves only reads routed to "
                    + "one of its tags by a rule or a hint; give it at least one tag", where(node));
        }
        return new HostSpec(host, port, weight, tags, replication);
    }

    /** {@code host}, {@code host:port} or {@code [v6addr]:port}. Shared with the URL parser. */
    static HostSpec parseHostPort(String text, String path, String origin) {
        String host = text.trim();
        int port = HostSpec.DEFAULT_PORT;
        int colon = host.lastIndexOf(':');
        if (host.startsWith("[")) {
            int close = host.indexOf(']');
            if (close < 0) {
                throw new ConfigException(path, "expected host[:port], got '" + text + "'", origin);
            }
            if (close + 1 < host.length()) {
                if (host.charAt(close + 1) != ':') {
                    throw new ConfigException(path, "expected host[:port], got '" + text + "'", origin);
                }
                port = parseInt(host.substring(close + 2), 1, 65535, path, origin);
            }
            host = host.substring(1, close);
        } else if (colon >= 0) {
            port = parseInt(host.substring(colon + 1), 1, 65535, path, origin);
            host = host.substring(0, colon);
        }
        if (host.isEmpty() || !host.matches("[A-Za-z0-9._:%-]+")) {
            throw new ConfigException(path, "expected host[:port], got '" + text + "'", origin);
        }
        return HostSpec.of(host, port);
    }

    static int parseInt(String text, int min, int max, String path, String origin) {
        try {
            int value = Integer.parseInt(text.trim());
            if (value >= min && value <= max) {
                return value;
            }
        } catch (NumberFormatException e) {
            // fall through to the precise message
        }
        throw new ConfigException(path, "expected an integer " + min + ".." + max + ", got '" + text + "'", origin);
    }

    private void readRules(Node node, ConfigBuilder builder) {
        List<Node> items = sequence(node, "rules");
        for (int i = 0; i < items.size(); i++) {
            builder.addRule(readRule(items.get(i), "rules[" + i + "]"));
        }
    }

    private RuleSpec readRule(Node node, String path) {
        MappingNode mapping = mapping(node, path);
        String name = null;
        RuleSpec.Target route = null;
        String tag = null;
        Set<StatementKind> kinds = Set.of();
        Pattern tables = null;
        Pattern sql = null;
        Pattern user = null;
        Pattern app = null;
        Pattern hint = null;
        for (NodeTuple tuple : entries(mapping, path)) {
            String key = key(tuple);
            String keyPath = path + "." + key;
            Node value = tuple.getValueNode();
            switch (key) {
                case "name":
                    name = scalar(value, keyPath);
                    break;
                case "route":
                    String text = scalar(value, keyPath);
                    switch (text) {
                        case "primary":
                            route = RuleSpec.Target.PRIMARY;
                            break;
                        case "replica":
                            route = RuleSpec.Target.REPLICA;
                            break;
                        case "any":
                            route = RuleSpec.Target.ANY;
                            break;
                        default:
                            throw new ConfigException(keyPath,
                                    "expected one of primary | replica | any, got '" + text + "'", where(value));
                    }
                    break;
                case "tag":
                    tag = scalar(value, keyPath);
                    if (!NAME.matcher(tag).matches()) {
                        throw new ConfigException(keyPath, "expected a tag name, got '" + tag + "'", where(value));
                    }
                    break;
                case "match":
                    for (NodeTuple m : entries(mapping(value, keyPath), keyPath)) {
                        String matchKey = key(m);
                        String matchPath = keyPath + "." + matchKey;
                        Node matchValue = m.getValueNode();
                        switch (matchKey) {
                            case "kind":
                                kinds = kinds(matchValue, matchPath);
                                break;
                            case "tables":
                                tables = regex(matchValue, matchPath);
                                break;
                            case "sql":
                                sql = regex(matchValue, matchPath);
                                break;
                            case "user":
                                user = regex(matchValue, matchPath);
                                break;
                            case "application_name":
                                app = regex(matchValue, matchPath);
                                break;
                            case "hint":
                                hint = regex(matchValue, matchPath);
                                break;
                            default:
                                throw new ConfigException(matchPath,
                                        "unknown key" + Suggestions.didYouMean(matchKey, MATCH_KEYS),
                                        where(m.getKeyNode()));
                        }
                    }
                    break;
                default:
                    throw new ConfigException(keyPath, "unknown key" + Suggestions.didYouMean(key, RULE_KEYS),
                            where(tuple.getKeyNode()));
            }
        }
        if (route == null) {
            throw new ConfigException(path + ".route", "is required (primary | replica | any)", where(node));
        }
        if (tag != null && route != RuleSpec.Target.REPLICA) {
            throw new ConfigException(path + ".tag", "only applies with route: replica", where(node));
        }
        return new RuleSpec(name == null ? path : name, kinds, tables, sql, user, app, hint, route, tag, where(node));
    }

    private Set<StatementKind> kinds(Node node, String path) {
        List<Node> items = node instanceof SequenceNode ? ((SequenceNode) node).getValue() : List.of(node);
        Set<StatementKind> kinds = new HashSet<>();
        for (Node item : items) {
            String text = scalar(item, path).toLowerCase(Locale.ROOT);
            StatementKind kind = StatementKind.byRuleName(text);
            if (kind == null) {
                List<String> names = new ArrayList<>();
                for (StatementKind k : StatementKind.values()) {
                    names.add(k.ruleName());
                }
                throw new ConfigException(path, "unknown statement kind '" + text + "'"
                        + Suggestions.didYouMean(text, names) + " (one of " + String.join(", ", names) + ")",
                        where(item));
            }
            kinds.add(kind);
        }
        return kinds;
    }

    private Pattern regex(Node node, String path) {
        String text = scalar(node, path);
        try {
            return Pattern.compile(text);
        } catch (PatternSyntaxException e) {
            throw new ConfigException(path, "invalid regular expression: " + e.getDescription(), where(node));
        }
    }

    private void readJdbc(Node node, ConfigBuilder builder) {
        for (NodeTuple tuple : entries(mapping(node, "jdbc"), "jdbc")) {
            String key = key(tuple);
            String path = "jdbc." + key;
            builder.setJdbcProperty(key, scalar(tuple.getValueNode(), path), path, where(tuple.getKeyNode()));
        }
    }

    private void readFollowers(Node node, ConfigBuilder builder) {
        List<Node> items = sequence(node, FOLLOWERS);
        Set<String> names = new HashSet<>();
        for (int i = 0; i < items.size(); i++) {
            String path = FOLLOWERS + "[" + i + "]";
            FollowerSpec follower = readFollower(items.get(i), path);
            if (!names.add(follower.name())) {
                throw new ConfigException(path + ".name", "duplicate follower name '" + follower.name() + "'",
                        where(items.get(i)));
            }
            builder.addFollower(follower);
        }
    }

    private FollowerSpec readFollower(Node node, String path) {
        String name = null;
        String url = null;
        String user = null;
        String password = null;
        List<String> tables = List.of();
        List<String> exclude = List.of();
        Map<String, String> rename = new LinkedHashMap<>();
        boolean createTables = false;
        FollowerSpec.SchemaEvolution evolution = FollowerSpec.SchemaEvolution.NONE;
        FollowerSpec.OnError onError = FollowerSpec.OnError.STOP;
        String dialect = null;
        for (NodeTuple tuple : entries(mapping(node, path), path)) {
            String key = key(tuple);
            String keyPath = path + "." + key;
            Node value = tuple.getValueNode();
            switch (key) {
                case "name" -> {
                    name = scalar(value, keyPath);
                    if (!NAME.matcher(name).matches()) {
                        throw new ConfigException(keyPath, "expected a name, got '" + name + "'", where(value));
                    }
                }
                case "url" -> {
                    url = scalar(value, keyPath);
                    if (!url.startsWith("jdbc:")) {
                        throw new ConfigException(keyPath, "expected a JDBC URL (jdbc:postgresql:… or jdbc:h2:…)",
                                where(value));
                    }
                }
                case "user" -> user = scalar(value, keyPath);
                case "password" -> password = scalar(value, keyPath);
                case "tables" -> tables = patterns(value, keyPath);
                case "exclude_tables" -> exclude = patterns(value, keyPath);
                case "rename" -> {
                    for (NodeTuple entry : entries(mapping(value, keyPath), keyPath)) {
                        String from = key(entry);
                        String to = scalar(entry.getValueNode(), keyPath + "." + from);
                        boolean table = TABLE_NAME.matcher(from).matches() && QUALIFIED_NAME.matcher(to).matches();
                        boolean column = COLUMN_NAME.matcher(from).matches() && SIMPLE_NAME.matcher(to).matches();
                        if (!table && !column) {
                            throw new ConfigException(keyPath + "." + from, "expected schema.table: table (or "
                                    + "schema.table) or schema.table.column: column", where(entry.getKeyNode()));
                        }
                        rename.put(from, to);
                    }
                }
                case "create_tables" -> createTables = bool(value, keyPath);
                case "schema_evolution" -> evolution = enumValue(FollowerSpec.SchemaEvolution.class, value, keyPath);
                case "on_error" -> onError = enumValue(FollowerSpec.OnError.class, value, keyPath);
                case "dialect" -> dialect = scalar(value, keyPath);
                default -> throw new ConfigException(keyPath,
                        "unknown key" + Suggestions.didYouMean(key, FollowerSpec.KEYS), where(tuple.getKeyNode()));
            }
        }
        if (name == null) {
            throw new ConfigException(path + ".name", "is required", where(node));
        }
        if (url == null) {
            throw new ConfigException(path + ".url", "is required", where(node));
        }
        return new FollowerSpec(name, url, user, password, tables, exclude, rename, createTables, evolution, onError,
                dialect, where(node));
    }

    private List<String> patterns(Node node, String path) {
        List<Node> items = node instanceof SequenceNode ? ((SequenceNode) node).getValue() : List.of(node);
        List<String> out = new ArrayList<>();
        for (Node item : items) {
            out.add(regex(item, path).pattern());
        }
        return out;
    }

    private boolean bool(Node node, String path) {
        try {
            return ValueType.bool().parse(scalar(node, path));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(path, e.getMessage(), where(node));
        }
    }

    private <E extends Enum<E>> E enumValue(Class<E> type, Node node, String path) {
        String text = scalar(node, path);
        List<String> allowed = new ArrayList<>();
        for (E constant : type.getEnumConstants()) {
            String name = constant.name().toLowerCase(Locale.ROOT);
            if (name.equals(text)) {
                return constant;
            }
            allowed.add(name);
        }
        throw new ConfigException(path, "expected one of " + String.join(" | ", allowed) + ", got '" + text + "'",
                where(node));
    }

    private List<String> names(Node node, String path) {
        List<Node> items = node instanceof SequenceNode ? ((SequenceNode) node).getValue() : List.of(node);
        List<String> out = new ArrayList<>();
        for (Node item : items) {
            String name = scalar(item, path);
            if (!NAME.matcher(name).matches()) {
                throw new ConfigException(path, "expected a name, got '" + name + "'", where(item));
            }
            out.add(name);
        }
        return out;
    }

    // --- node helpers: each checks the node's shape and reports path and line when it is wrong

    private MappingNode mapping(Node node, String path) {
        if (!(node instanceof MappingNode)) {
            throw new ConfigException(path.isEmpty() ? "(top level)" : path, "expected a mapping of keys to values",
                    where(node));
        }
        return (MappingNode) node;
    }

    /** The entries of a mapping, refusing duplicate keys (YAML parsers usually let the last one win silently). */
    private List<NodeTuple> entries(MappingNode mapping, String path) {
        Set<String> seen = new HashSet<>();
        for (NodeTuple tuple : mapping.getValue()) {
            String key = key(tuple);
            if (!seen.add(key)) {
                String keyPath = path.isEmpty() ? key : path + "." + key;
                throw new ConfigException(keyPath, "duplicate key", where(tuple.getKeyNode()));
            }
        }
        return mapping.getValue();
    }

    private List<Node> sequence(Node node, String path) {
        if (!(node instanceof SequenceNode)) {
            throw new ConfigException(path, "expected a list", where(node));
        }
        return ((SequenceNode) node).getValue();
    }

    private String key(NodeTuple tuple) {
        Node key = tuple.getKeyNode();
        if (!(key instanceof ScalarNode)) {
            throw new ConfigException("", "keys must be plain names", where(key));
        }
        return ((ScalarNode) key).getValue();
    }

    private String scalar(Node node, String path) {
        if (!(node instanceof ScalarNode)) {
            throw new ConfigException(path, "expected a single value", where(node));
        }
        try {
            return env.interpolate(((ScalarNode) node).getValue());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(path, e.getMessage(), where(node));
        }
    }

    private String where(Node node) {
        Optional<Mark> mark = node.getStartMark();
        return mark.map(m -> fileName + ":" + (m.getLine() + 1)).orElse(fileName);
    }
}
