package io.replicant.cdc.apply;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Properties;

import io.replicant.config.FollowerSpec;

/**
 * A follower's stored position, read from its {@code replicant_cdc_position} table by anyone (the status
 * command, the router): what the follower has committed, whether or not a pipeline is running.
 *
 * @param lsn        commit LSN of the last source transaction the follower has; 0 before any
 * @param commitTime when that transaction committed on the source, or null
 * @param appliedAt  when the follower committed it, or null
 */
public record FollowerPosition(long lsn, Instant commitTime, Instant appliedAt) {

    /** @return the position, or null when this pipeline has never written to the follower */
    public static FollowerPosition read(FollowerSpec spec, String slot) throws SQLException {
        Properties properties = new Properties();
        if (spec.user() != null) {
            properties.setProperty("user", spec.user());
        }
        if (spec.password() != null) {
            properties.setProperty("password", spec.password());
        }
        properties.setProperty("connectTimeout", "5");
        try (Connection c = DriverManager.getConnection(spec.url(), properties);
                PreparedStatement select = c.prepareStatement("SELECT lsn, commit_time, applied_at FROM "
                        + FollowerSpec.POSITION_TABLE + " WHERE slot = ?")) {
            select.setString(1, slot);
            try (ResultSet rs = select.executeQuery()) {
                return rs.next() ? new FollowerPosition(rs.getLong(1), instant(rs.getTimestamp(2)),
                        instant(rs.getTimestamp(3))) : null;
            } catch (SQLException e) {
                if ("42P01".equals(e.getSQLState()) || "42S02".equals(e.getSQLState())) {
                    return null; // no position table yet
                }
                throw e;
            }
        }
    }

    private static Instant instant(Timestamp timestamp) {
        return timestamp == null ? null : timestamp.toInstant();
    }
}
