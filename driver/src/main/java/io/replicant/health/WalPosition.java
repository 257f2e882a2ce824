package io.replicant.health;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import io.replicant.config.HostSpec;
import io.replicant.router.Lsn;

/**
 * A server's WAL position in one query: a standby's replay position; a primary's insert position, which covers
 * every commit that has returned, even with {@code synchronous_commit = off}; or, for {@link #committed}, the
 * primary's flush position when this session commits synchronously (it covers the session's commits and, unlike
 * the insert position, does not include other transactions' WAL that no standby can have yet).
 *
 * @param inRecovery true on a standby
 * @param lsn        the position, or -1 when a standby has replayed nothing yet
 * @param timeline   a primary's current timeline (higher after each promotion); 0 on a standby
 */
public record WalPosition(boolean inRecovery, long lsn, int timeline) {
    private static final String QUERY = "SELECT pg_is_in_recovery(), (CASE WHEN pg_is_in_recovery() "
            + "THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END)::text, "
            + "current_setting('wal_block_size')::int, pg_size_bytes(current_setting('wal_segment_size')), "
            + "CASE WHEN pg_is_in_recovery() THEN NULL ELSE substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END";
    private static final String COMMITTED_QUERY = "SELECT false, (CASE WHEN current_setting('synchronous_commit') = "
            + "'off' THEN pg_current_wal_insert_lsn() ELSE pg_current_wal_flush_lsn() END)::text, "
            + "current_setting('wal_block_size')::int, pg_size_bytes(current_setting('wal_segment_size')), NULL";
    /** Page header sizes: XLogPageHeaderData and, on a segment's first page, XLogLongPageHeaderData (MAXALIGNed). */
    private static final int SHORT_PAGE_HEADER = 24;
    private static final int LONG_PAGE_HEADER = 40;

    /** Asks the server; {@code timeoutSeconds} 0 for none. */
    public static WalPosition of(Connection connection, int timeoutSeconds) throws SQLException {
        return ask(connection, timeoutSeconds, QUERY);
    }

    /** On the primary, in the session that committed: a position covering that session's commits. */
    public static long committed(Connection connection) throws SQLException {
        return ask(connection, 0, COMMITTED_QUERY).lsn();
    }

    private static WalPosition ask(Connection connection, int timeoutSeconds, String query) throws SQLException {
        try (Statement s = connection.createStatement()) {
            s.setQueryTimeout(timeoutSeconds);
            try (ResultSet rs = s.executeQuery(query)) {
                rs.next();
                boolean inRecovery = rs.getBoolean(1);
                String text = rs.getString(2);
                String timeline = rs.getString(5);
                int tli = timeline == null ? 0 : Integer.parseInt(timeline, 16);
                if (text == null) {
                    return new WalPosition(inRecovery, Lsn.UNKNOWN, tli);
                }
                long lsn = Lsn.parse(text);
                return new WalPosition(inRecovery, inRecovery ? lsn : recordBoundary(lsn, rs.getInt(3), rs.getLong(4)), tli);
            }
        }
    }

    /**
     * The insert position right after a page header (the last record ended exactly at the page end) as the page
     * boundary, which is what a standby reports once it has replayed that record. Without this a caught-up
     * standby would look one header behind on an idle primary.
     */
    static long recordBoundary(long insertLsn, int blockSize, long segmentSize) {
        if (insertLsn % blockSize == SHORT_PAGE_HEADER || insertLsn % segmentSize == LONG_PAGE_HEADER) {
            return insertLsn - insertLsn % blockSize;
        }
        return insertLsn;
    }

    /**
     * A CDC follower's applied position for {@code slot}, reported like a standby's: Replicant sends it no
     * writes, so for routing it is in recovery.
     */
    public static WalPosition ofCdcFollower(Connection connection, String slot, int timeoutSeconds)
            throws SQLException {
        return new WalPosition(true, CdcFollowerPosition.applied(connection, slot, timeoutSeconds), 0);
    }

    /**
     * How far a read-only backend has got: a standby's replay position, or a CDC follower's applied position for
     * {@code slot}; -1 if nothing yet (or the standby is no longer in recovery).
     */
    public static long replayed(Connection connection, HostSpec host, String slot) throws SQLException {
        return host.cdcFollower() ? CdcFollowerPosition.applied(connection, slot, 0) : replayed(connection);
    }

    private static long replayed(Connection connection) throws SQLException {
        try (Statement s = connection.createStatement();
                ResultSet rs = s.executeQuery("SELECT pg_last_wal_replay_lsn()::text")) {
            rs.next();
            String text = rs.getString(1);
            return text == null ? Lsn.UNKNOWN : Lsn.parse(text);
        }
    }
}
