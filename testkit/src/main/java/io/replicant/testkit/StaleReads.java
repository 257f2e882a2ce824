package io.replicant.testkit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The read-your-writes check the routing tests share: sets one counter row to 1, 2, … n through one connection
 * and reads it back through another (or the same one) right after each write. A read that does not return the
 * value just written is stale.
 */
public final class StaleReads {
    /** What runs between each write and its read, e.g. handing a consistency token from writer to reader. */
    @FunctionalInterface
    public interface Handoff {
        Handoff NONE = (writer, reader) -> {
        };

        void run(Connection writer, Connection reader) throws SQLException;
    }

    private StaleReads() {
    }

    /**
     * @param table       a table with columns {@code id int PRIMARY KEY} and {@code v int} that has row {@code id}
     * @param readComment appended to the read, to find it in a server's statement log ("" for none)
     * @return how many of the {@code n} reads missed the write just made
     */
    public static int count(Connection writer, Connection reader, String table, int id, int n, String readComment,
            Handoff handoff) throws SQLException {
        int stale = 0;
        try (PreparedStatement update = writer.prepareStatement("UPDATE " + table + " SET v = ? WHERE id = ?");
                PreparedStatement select = reader.prepareStatement(
                        "SELECT v FROM " + table + " WHERE id = ? " + readComment)) {
            update.setInt(2, id);
            select.setInt(1, id);
            for (int i = 1; i <= n; i++) {
                update.setInt(1, i);
                if (update.executeUpdate() != 1) {
                    throw new IllegalStateException(table + " has no row " + id);
                }
                handoff.run(writer, reader);
                try (ResultSet rs = select.executeQuery()) {
                    if (!rs.next()) {
                        throw new IllegalStateException(table + " row " + id + " vanished");
                    }
                    if (rs.getInt(1) != i) {
                        stale++;
                    }
                }
            }
        }
        return stale;
    }
}
