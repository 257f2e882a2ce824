package io.replicant.proxy.session;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A statement about one of the proxy's own per-connection settings ({@code replicant.consistency},
 * {@code replicant.consistency_token}): {@code SET}, {@code RESET} or {@code SHOW}, spelt as for PostgreSQL's own
 * settings. The proxy answers these itself and no server sees them: a server would take {@code SET replicant.x}
 * for a placeholder setting of its own and quietly change nothing.
 */
record ProxyStatement(Verb verb, String name, String value) {
    enum Verb {
        SET, RESET, SHOW,
        /** Names a replicant.* setting, but not as a statement of its own, or with SET LOCAL. */
        UNSUPPORTED
    }

    static final String CONSISTENCY = "replicant.consistency";
    static final String CONSISTENCY_TOKEN = "replicant.consistency_token";
    static final String MUST_STAND_ALONE = "SET, RESET and SHOW of replicant.* settings are answered by the proxy and "
            + "must come as statements of their own: not with SET LOCAL, not together with other statements";

    private static final String MARK = "replicant.";
    private static final Pattern STATEMENT = Pattern.compile("(?is)(?:\\s|/\\*.*?\\*/|--[^\\n]*\\n)*"
            + "(?:(SET)\\s+(?:SESSION\\s+)?|(RESET)\\s+|(SHOW)\\s+)(replicant\\.[a-z0-9_]+)"
            + "(?:\\s*(?:=|\\s+TO\\s+)\\s*('(?:[^']|'')*'|[^\\s;']+))?\\s*;?\\s*");
    private static final Pattern MENTION = Pattern.compile("(?is)\\b(?:SET|RESET|SHOW)\\s+(?:(?:SESSION|LOCAL)\\s+)?"
            + "replicant\\.");

    /** The statement {@code sql} is, or null when it names no replicant.* setting. */
    static ProxyStatement of(String sql) {
        if (!containsMark(sql)) {
            return null; // nearly every statement, decided without a regular expression
        }
        Matcher m = STATEMENT.matcher(sql);
        if (!m.matches()) {
            return MENTION.matcher(sql).find() ? new ProxyStatement(Verb.UNSUPPORTED, null, null) : null;
        }
        Verb verb = m.group(1) != null ? Verb.SET : m.group(2) != null ? Verb.RESET : Verb.SHOW;
        String value = m.group(5);
        if (value != null && value.startsWith("'")) {
            value = value.substring(1, value.length() - 1).replace("''", "'");
        } else if (verb == Verb.SET && "default".equalsIgnoreCase(value)) {
            verb = Verb.RESET;
            value = null;
        }
        return new ProxyStatement(verb, m.group(4).toLowerCase(Locale.ROOT), value);
    }

    private static boolean containsMark(String sql) {
        for (int i = sql.indexOf('.'); i >= 0; i = sql.indexOf('.', i + 1)) {
            if (i >= MARK.length() - 1 && sql.regionMatches(true, i - MARK.length() + 1, MARK, 0, MARK.length())) {
                return true;
            }
        }
        return false;
    }

    boolean showsToken() {
        return verb == Verb.SHOW && CONSISTENCY_TOKEN.equals(name);
    }

    /** The tag of the CommandComplete PostgreSQL sends for it. */
    String tag() {
        return verb.name();
    }
}
