package io.replicant.router;

/** Why a statement went where it went. {@link #tag()} is the {@code reason} tag of the routing metrics. */
public enum Reason {
    /** A plain read: SELECT, VALUES, TABLE, SHOW, EXPLAIN without ANALYZE. */
    READ("read"),
    /** INSERT/UPDATE/DELETE/MERGE, DDL, TRUNCATE, COPY, CALL, DO, LOCK, GRANT, VACUUM, NOTIFY, … */
    WRITE("write"),
    LOCKING_READ("locking_read"),
    SELECT_INTO("select_into"),
    WRITABLE_CTE("writable_cte"),
    /** A built-in function that writes or is bound to the session (nextval, pg_advisory_lock, set_config, …). */
    WRITER_FUNCTION("writer_function"),
    /** A user-defined function the primary's catalog marks VOLATILE. */
    VOLATILE_FUNCTION("volatile_function"),
    /** A function the catalog does not know (yet): sent to the primary until the catalog says otherwise. */
    UNKNOWN_FUNCTION("unknown_function"),
    UNPARSEABLE("unparseable"),
    MULTI_STATEMENT_WRITE("multi_statement_write"),
    EXPLAIN_ANALYZE("explain_analyze"),
    /** SET/RESET/DISCARD/LISTEN, SQL-level PREPARE/EXECUTE/DEALLOCATE, cursors outside a transaction. */
    SESSION_STATE("session_state"),
    TEMP_TABLE("temp_table"),
    /** Inside a read-write transaction, or a statement that begins one. */
    TRANSACTION("transaction"),
    READ_ONLY_TRANSACTION("read_only_transaction"),
    HINT("hint"),
    RULE("rule"),
    /** Forced through {@code ReplicantConnection}. */
    API("api"),
    /** The session is pinned to the primary (e.g. after LISTEN or unwrapping to PGConnection). */
    SESSION_PIN("session_pin"),
    /** A read with no replica available, served by the primary (primary_reads: when_no_replica). */
    NO_REPLICA("no_replica"),
    /** Replicas are up but all lag beyond the limits; the read runs on the primary ({@code lag.fallback: primary}). */
    REPLICA_LAG("replica_lag"),
    /** {@code consistency: strong}: every read runs on the primary. */
    STRONG_CONSISTENCY("strong_consistency"),
    /** No replica reached the session's position (read-your-writes / token) within {@code max_wait}. */
    READ_YOUR_WRITES("read_your_writes"),
    /** A hint or rule asked for a replica, but the statement certainly writes. */
    WRITE_OVERRIDES_HINT("write_overrides_hint"),
    EMPTY("empty");

    private final String tag;

    Reason(String tag) {
        this.tag = tag;
    }

    public String tag() {
        return tag;
    }
}
