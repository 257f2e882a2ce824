package io.replicant.health;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import io.replicant.config.FollowerSpec;
import io.replicant.router.Lsn;

/**
 * Where a CDC follower stands, in the primary's WAL: the position the pipeline stores in the follower with the
 * data, the end of the last source commit it applied. A session's read-your-writes position is the primary's
 * WAL position after its commit, so a follower at or past it has that commit, exactly like a standby that
 * replayed it. Transactions the follower does not receive (other tables, or none published) move its position
 * only when the pipeline next writes one (at most once a second, and at every {@code cdc.heartbeat_interval}), so
 * a follower looks behind by up to that long after such writes: reads that need it go elsewhere meanwhile.
 */
final class CdcFollowerPosition {
    private static final String QUERY = "SELECT lsn FROM " + FollowerSpec.POSITION_TABLE + " WHERE slot = ?";
    private static final String UNDEFINED_TABLE = "42P01";

    private CdcFollowerPosition() {
    }

    /** The applied position for {@code slot}, or -1 when the pipeline has applied nothing there yet; autocommit only. */
    static long applied(Connection connection, String slot, int timeoutSeconds) throws SQLException {
        try (PreparedStatement select = connection.prepareStatement(QUERY)) {
            select.setQueryTimeout(timeoutSeconds);
            select.setString(1, slot);
            try (ResultSet rs = select.executeQuery()) {
                long lsn = rs.next() ? rs.getLong(1) : 0;
                return lsn > 0 ? lsn : Lsn.UNKNOWN;
            }
        } catch (SQLException e) {
            if (UNDEFINED_TABLE.equals(e.getSQLState())) {
                return Lsn.UNKNOWN; // the pipeline has not reached this follower yet
            }
            throw e;
        }
    }
}
