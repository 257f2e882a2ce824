package io.replicant.config;

import java.util.Objects;

/**
 * One configuration option: its name (the same in YAML, URL and Properties; dots are YAML nesting),
 * type, default, documentation group and description. All options are declared in {@link ReplicantOptions}.
 */
public final class Option<T> {

    /** Documentation grouping, as in the README's options table. */
    public enum Group {
        ESSENTIALS("Essentials"),
        FREQUENTLY_USED("Frequently used"),
        RARELY_USED("Rarely used");

        private final String title;

        Group(String title) {
            this.title = title;
        }

        public String title() {
            return title;
        }
    }

    private final String name;
    private final ValueType<T> type;
    private final T defaultValue;
    private final Group group;
    private final boolean secret;
    private final String description;

    Option(String name, ValueType<T> type, T defaultValue, Group group, boolean secret, String description) {
        this.name = Objects.requireNonNull(name);
        this.type = Objects.requireNonNull(type);
        this.defaultValue = defaultValue;
        this.group = group;
        this.secret = secret;
        this.description = description;
    }

    public String name() {
        return name;
    }

    public ValueType<T> type() {
        return type;
    }

    /** The default, or {@code null} when the option has none (it is then optional or required by context). */
    public T defaultValue() {
        return defaultValue;
    }

    public Group group() {
        return group;
    }

    /** Secret values (passwords) are never printed, logged or put in an error message. */
    public boolean secret() {
        return secret;
    }

    public String description() {
        return description;
    }

    /** The default as documented, e.g. {@code 10s}; "(none)" when there is none, "(empty)" for an empty list. */
    public String defaultText() {
        if (defaultValue == null) {
            return "(none)";
        }
        String text = type.format(defaultValue);
        return text.isEmpty() ? "(empty)" : text;
    }

    /**
     * Parses a value for this option.
     *
     * @param origin where the text came from, e.g. {@code replicant.yaml:14} or {@code URL}
     * @throws ConfigException naming the option, the problem and the origin; a secret's value is never echoed
     */
    public T parse(String text, String path, String origin) {
        try {
            return type.parse(text);
        } catch (IllegalArgumentException e) {
            String problem = secret ? "invalid value (not shown: secret)" : e.getMessage();
            throw new ConfigException(path, problem, origin);
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
