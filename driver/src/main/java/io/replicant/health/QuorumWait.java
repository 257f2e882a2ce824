package io.replicant.health;

import io.replicant.router.Lsn;

/**
 * The quorum wait of one commit, on the primary session that committed: a function in the session's temporary
 * schema (compiled once per connection, called through a prepared statement) takes the commit's WAL position
 * and checks {@code pg_stat_get_wal_senders()} (physical standbys only) in a tight loop for a short while,
 * returning the position and how many standbys have replayed (or flushed) it. The caller calls again, with
 * the same position, until enough have or its timeout passes: the round trips between calls give the CPU back
 * to the standbys, which matters when they share cores with the primary.
 * Replay positions there are current only because Replicant's primary sessions commit with
 * {@code synchronous_commit = remote_apply}, which asks standbys to report each applied commit at once (with
 * no {@code synchronous_standby_names} the commit itself does not wait).
 */
public final class QuorumWait {
    public static final String APPLY_FEEDBACK = "SET synchronous_commit = remote_apply";
    /**
     * How long the first call checks in a loop before returning to the caller, and how long each later call
     * does. The loop occupies a core that the standbys, sharing the machine, may need to apply the commit, so
     * both are short: the round trips between calls give the CPU back. Measured on 2 cores (single-thread
     * commit latency against PostgreSQL's own quorum, the loop of bench/run): 300/50 µs gave p50 1.06-1.12× and
     * p99 1.67-2.0×; 80/20 µs 1.16-1.26× and 1.25-1.48×; 20/20 µs a worse p50, 150/20 µs a worse p99.
     */
    public static final int FIRST_SPIN_MICROS = 80;
    public static final int NEXT_SPIN_MICROS = 20;
    /**
     * After this long, a commit still waiting (a standby is down or far behind) checks once a millisecond instead
     * of back to back, so a stalled quorum does not keep a core of the primary and of Replicant busy until the
     * timeout. Acknowledgements normally come well within it (a p99 under 1 ms on the benchmark).
     */
    public static final long PATIENT_AFTER_NANOS = 2_000_000;

    private QuorumWait() {
    }

    /** Creates (or replaces) the function; {@code replay} false counts flushed positions instead. */
    public static String createFunction(boolean replay) {
        String column = replay ? "replay_lsn" : "flush_lsn";
        return "CREATE OR REPLACE FUNCTION pg_temp.replicant_quorum_wait(w int, spin_us int, target pg_lsn)"
                + " RETURNS text LANGUAGE plpgsql AS $replicant$ DECLARE"
                + " logical int[] := ARRAY(SELECT active_pid FROM pg_replication_slots"
                + " WHERE slot_type = 'logical' AND active_pid IS NOT NULL);"
                + " spin_until timestamptz := clock_timestamp() + spin_us * interval '1 microsecond';"
                + " acked int;"
                + " BEGIN"
                + " IF target IS NULL THEN target := CASE WHEN current_setting('synchronous_commit') = 'off'"
                + " THEN pg_current_wal_insert_lsn() ELSE pg_current_wal_flush_lsn() END; END IF;"
                + " LOOP"
                + " SELECT count(*) INTO acked FROM pg_stat_get_wal_senders() s WHERE s.state = 'streaming'"
                + " AND s." + column + " >= target AND NOT (s.pid = ANY (logical));"
                + " IF acked >= w OR clock_timestamp() >= spin_until THEN RETURN target || ' ' || acked; END IF;"
                + " END LOOP; END $replicant$";
    }

    /**
     * One check without the function, answered like it ({@code <position> <acknowledged>}): for a session that does
     * not have the function yet, so that creating it cannot move the position past the commit that matters (CDC
     * followers never receive that DDL), or cannot create it.
     *
     * @param target the position from an earlier answer, or null for the session's commits so far
     */
    public static String checkOnce(boolean replay, String target) {
        String column = replay ? "replay_lsn" : "flush_lsn";
        String position = target != null ? "'" + Lsn.format(Lsn.parse(target)) + "'::pg_lsn"
                : "CASE WHEN current_setting('synchronous_commit') = 'off' THEN pg_current_wal_insert_lsn()"
                        + " ELSE pg_current_wal_flush_lsn() END";
        return "SELECT t::text || ' ' || (SELECT count(*) FROM pg_stat_get_wal_senders() s WHERE s.state = 'streaming'"
                + " AND s." + column + " >= t AND NOT (s.pid = ANY (ARRAY(SELECT active_pid FROM pg_replication_slots"
                + " WHERE slot_type = 'logical' AND active_pid IS NOT NULL)))) FROM (SELECT " + position + " AS t) target";
    }

    /** Parameters: W, how long to check in a loop (µs), the position from the previous call (null the first time). */
    public static final String CALL = "SELECT pg_temp.replicant_quorum_wait(?, ?, ?::pg_lsn)";
}
