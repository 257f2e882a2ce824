package io.replicant.config;

import java.util.Set;
import java.util.regex.Pattern;

/**
 * One routing rule from the YAML {@code rules:} list. Every given criterion must match (unset ones match
 * anything); the first matching rule decides. Regexes are found anywhere in the value ({@link java.util.regex.Matcher#find()}).
 *
 * @param kinds           statement kinds, empty = any
 * @param tables          matched against each referenced table name; any match counts
 * @param sql             matched against the SQL text
 * @param user            matched against the connection's user
 * @param applicationName matched against the connection's application_name
 * @param hint            matched against the {@code label} of a {@code /* replicant:label=… *\/} hint
 * @param route           where matching statements go
 * @param tag             with {@code route: replica}: only replicas carrying this tag
 * @param origin          where the rule was declared, for messages
 */
public record RuleSpec(String name, Set<StatementKind> kinds, Pattern tables, Pattern sql, Pattern user,
        Pattern applicationName, Pattern hint, Target route, String tag, String origin) {

    /** Where a rule sends a statement. */
    public enum Target {
        PRIMARY, REPLICA, ANY
    }

    public RuleSpec {
        kinds = Set.copyOf(kinds);
    }
}
