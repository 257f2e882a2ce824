package io.replicant.config;

/**
 * A configuration error. The message always names where the bad value came from: a YAML path and
 * line ({@code pool.max_size: expected an integer 1..10000, got 'abc' (replicant.yaml:14)}), a URL
 * parameter, or a {@link java.util.Properties} key.
 */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String path;
    private final SqlState sqlState;

    public ConfigException(String path, String problem, String origin) {
        this(path, problem, origin, SqlState.INVALID_PARAMETER_VALUE, null);
    }

    public ConfigException(String path, String problem, String origin, SqlState sqlState, Throwable cause) {
        super(format(path, problem, origin), cause);
        this.path = path;
        this.sqlState = sqlState;
    }

    private static String format(String path, String problem, String origin) {
        StringBuilder sb = new StringBuilder();
        if (path != null && !path.isEmpty()) {
            sb.append(path).append(": ");
        }
        sb.append(problem);
        if (origin != null && !origin.isEmpty()) {
            sb.append(" (").append(origin).append(')');
        }
        return sb.toString();
    }

    /** The option or YAML path the error is about, e.g. {@code hosts[1].port}; empty when it concerns the whole source. */
    public String path() {
        return path;
    }

    public SqlState sqlState() {
        return sqlState;
    }
}
