package io.replicant.router;

import java.util.List;
import java.util.Set;

/**
 * Built-in functions that write, depend on the session's server, or only work on the primary. A statement
 * calling one goes to the primary whatever its shape. Other built-ins ({@code random()}, {@code now()},
 * {@code pg_is_in_recovery()}, …) do not force the primary.
 */
final class WriterFunctions {
    private static final Set<String> NAMES = Set.of(
            // sequences; currval/lastval read state of the session's own nextval calls on the primary
            "nextval", "setval", "currval", "lastval",
            "set_config", "pg_notify",
            "txid_current", "txid_current_if_assigned", "txid_current_snapshot",
            "pg_current_xact_id", "pg_current_xact_id_if_assigned", "pg_current_snapshot",
            "pg_current_wal_lsn", "pg_current_wal_insert_lsn", "pg_current_wal_flush_lsn",
            "pg_switch_wal", "pg_create_restore_point", "pg_backup_start", "pg_backup_stop",
            "pg_start_backup", "pg_stop_backup", "pg_promote", "pg_wal_replay_pause", "pg_wal_replay_resume",
            "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
            "pg_import_system_collations", "pg_export_snapshot", "pg_nextoid",
            "query_to_xml", "query_to_xml_and_xmlschema", "query_to_xmlschema", "ts_stat",
            "loread", "lowrite");
    private static final List<String> PREFIXES = List.of(
            "pg_advisory", "pg_try_advisory", "lo_", "pg_create_", "pg_drop_", "pg_replication_origin",
            "pg_replication_slot_", "pg_logical_", "pg_stat_reset", "pg_log_", "dblink");
    /** Writers that a replica executes without error but that would act on the wrong server. */
    private static final List<String> SESSION_BOUND_PREFIXES = List.of(
            "pg_advisory", "pg_try_advisory", "set_config", "pg_notify");

    private WriterFunctions() {
    }

    static boolean isWriter(String name) {
        if (NAMES.contains(name)) {
            return true;
        }
        for (String prefix : PREFIXES) {
            if (name.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Releasing advisory locks is not bound to a server session of its own: a session that holds one is already
     * bound to its server, and elsewhere there is nothing to release (asyncpg's pool runs pg_advisory_unlock_all()
     * on every connection it takes back).
     */
    static boolean isSessionBound(String name) {
        if (name.startsWith("pg_advisory_unlock")) {
            return false;
        }
        for (String prefix : SESSION_BOUND_PREFIXES) {
            if (name.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }
}
