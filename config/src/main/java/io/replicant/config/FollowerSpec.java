package io.replicant.config;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One CDC follower from the YAML {@code cdc.followers:} list: a database that receives every committed change
 * of the tables it selects.
 *
 * @param name            unique name; it appears in logs, metrics and {@code replicant cdc status}
 * @param url             JDBC URL of the follower ({@code jdbc:postgresql:} or {@code jdbc:h2:})
 * @param user            login role on the follower, or null when the URL carries it
 * @param password        its password (secret: never printed), or null
 * @param tables          regular expressions over source {@code schema.table}; empty: all the pipeline streams
 * @param excludeTables   regular expressions over source {@code schema.table} this follower never receives
 * @param rename          source {@code schema.table} to follower table ({@code table} or {@code schema.table}), and
 *                        source {@code schema.table.column} to follower column
 * @param createTables    create a missing follower table from the source table's definition
 * @param schemaEvolution what to do with a source column the follower table lacks
 * @param onError         what to do with a change the follower rejects (not a transient error)
 * @param dialect         class name of the follower's dialect, or null for the built-in one its URL implies
 * @param origin          where it was declared, for messages
 */
public record FollowerSpec(String name, String url, String user, String password, List<String> tables,
        List<String> excludeTables, Map<String, String> rename, boolean createTables, SchemaEvolution schemaEvolution,
        OnError onError, String dialect, String origin) {

    /**
     * The table, in the follower's default schema, where the pipeline keeps each follower's position (one row per
     * slot: the commit LSN of the last source transaction it applied), written in the same transaction as the
     * data. The router reads it to treat the follower like a replica.
     */
    public static final String POSITION_TABLE = "replicant_cdc_position";

    /** The keys a follower entry may have, for the YAML reader's suggestions. */
    public static final Set<String> KEYS = Set.of("name", "url", "user", "password", "tables", "exclude_tables",
            "rename", "create_tables", "schema_evolution", "on_error", "dialect");

    /** Follower reaction to a new source column. */
    public enum SchemaEvolution {
        /** Stop the follower with an error naming the column. */
        NONE,
        /** Add the column to the follower table, then apply. */
        BASIC
    }

    /** Follower reaction to a change it rejects (a constraint, a type error): never silent. */
    public enum OnError {
        /** Stop this follower with the event and error logged; the others go on. */
        STOP,
        /** Log the event and error, skip that one change, go on. */
        SKIP_AND_LOG
    }

    public FollowerSpec {
        tables = List.copyOf(tables);
        excludeTables = List.copyOf(excludeTables);
        rename = Map.copyOf(rename);
    }

    /** For logs: the URL with any {@code password=} value masked; the password itself never appears. */
    @Override
    public String toString() {
        return "follower " + name + " (" + url.replaceAll("(?i)(password=)[^&;]*", "$1********") + ")";
    }
}
