package io.replicant.cdc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import io.replicant.cdc.apply.FollowerPosition;
import io.replicant.cdc.apply.SourceCatalog;
import io.replicant.cdc.event.Lsn;
import io.replicant.config.FollowerSpec;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;

/**
 * What {@code replicant cdc status} prints: the slot on the primary and each follower's stored position and lag,
 * read from the databases themselves, so it works whether or not a pipeline is running.
 */
public final class CdcStatus {
    /** The slot as the primary reports it; {@code exists} false when it has not been created yet. */
    public record Slot(String name, boolean exists, boolean active, long confirmedLsn, long retainedBytes,
            long currentLsn) {
    }

    /** One follower: its position, or why it could not be read. */
    public record FollowerRow(String name, FollowerPosition position, String problem, long lagBytes,
            Duration lag) {
    }

    private final Slot slot;
    private final List<FollowerRow> followers;

    private CdcStatus(Slot slot, List<FollowerRow> followers) {
        this.slot = slot;
        this.followers = followers;
    }

    public static CdcStatus read(ReplicantConfig config) throws SQLException {
        String slotName = config.get(ReplicantOptions.CDC_SLOT);
        Slot slot;
        try (Connection c = new SourceCatalog(config).connect();
                PreparedStatement s = c.prepareStatement("SELECT pg_current_wal_lsn()::text, "
                        + "(SELECT active FROM pg_replication_slots WHERE slot_name = ?), "
                        + "(SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = ?), "
                        + "(SELECT pg_current_wal_lsn() - restart_lsn FROM pg_replication_slots WHERE slot_name = ?)")) {
            s.setString(1, slotName);
            s.setString(2, slotName);
            s.setString(3, slotName);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                long current = Lsn.parse(rs.getString(1));
                boolean exists = rs.getObject(2) != null;
                slot = new Slot(slotName, exists, exists && rs.getBoolean(2),
                        rs.getString(3) == null ? 0 : Lsn.parse(rs.getString(3)), rs.getLong(4), current);
            }
        }
        List<FollowerRow> rows = new ArrayList<>();
        Instant now = Instant.now();
        for (FollowerSpec spec : config.followers()) {
            try {
                FollowerPosition position = FollowerPosition.read(spec, slotName);
                if (position == null) {
                    rows.add(new FollowerRow(spec.name(), null, "no position yet", -1, null));
                } else {
                    Duration lag = position.commitTime() == null ? null : Duration.between(position.commitTime(), now);
                    rows.add(new FollowerRow(spec.name(), position, null,
                            Math.max(0, slot.currentLsn() - position.lsn()), lag));
                }
            } catch (SQLException e) {
                rows.add(new FollowerRow(spec.name(), null, "unreachable: " + e.getMessage(), -1, null));
            }
        }
        return new CdcStatus(slot, rows);
    }

    public Slot slot() {
        return slot;
    }

    public List<FollowerRow> followers() {
        return followers;
    }

    /** The report as text, one line per follower. */
    public String format() {
        StringBuilder out = new StringBuilder();
        if (!slot.exists()) {
            out.append("slot ").append(slot.name()).append(": not created yet (the pipeline has not run)\n");
        } else {
            out.append(String.format("slot %s: %s, confirmed %s, primary at %s, WAL kept for it %s%n", slot.name(),
                    slot.active() ? "active" : "inactive", Lsn.format(slot.confirmedLsn()),
                    Lsn.format(slot.currentLsn()), bytes(slot.retainedBytes())));
        }
        out.append(String.format("%-20s %-14s %-26s %-12s %s%n", "follower", "position", "source commit", "lag bytes",
                "lag"));
        for (FollowerRow row : followers) {
            if (row.problem() != null) {
                out.append(String.format("%-20s %s%n", row.name(), row.problem()));
            } else {
                out.append(String.format("%-20s %-14s %-26s %-12s %s%n", row.name(), Lsn.format(row.position().lsn()),
                        row.position().commitTime(), bytes(row.lagBytes()),
                        row.lag() == null ? "-" : row.lag().toMillis() / 1000.0 + "s"));
            }
        }
        return out.toString();
    }

    private static String bytes(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format("%.1f kB", bytes / 1024.0);
        }
        return String.format("%.1f MB", bytes / (1024.0 * 1024));
    }
}
