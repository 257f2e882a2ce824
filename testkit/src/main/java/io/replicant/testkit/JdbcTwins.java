package io.replicant.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Differential JDBC testing: the same random calls — statements and prepared statements (server-side after
 * pgjdbc's threshold), multi-statement strings, batches, generated keys, fetch sizes, errors, autocommit on and
 * off, commit, rollback, savepoints, read-only, isolation — made on a connection under test and on a pgjdbc
 * connection to the primary must give the same results, update counts and SQLSTATEs. The statements use the
 * tables {@link #SETUP} creates; their reads do not depend on what the conversation writes, so a replica that
 * lags gives the same answers.
 */
public final class JdbcTwins {
    /** Run once on the primary (and replayed) before the first conversation. */
    public static final String[] SETUP = {"CREATE TABLE IF NOT EXISTS jt_log (v int)",
        "CREATE TABLE IF NOT EXISTS jt_static AS SELECT generate_series(1, 5) AS x"};
    private static final int[] ISOLATION = {Connection.TRANSACTION_READ_UNCOMMITTED,
        Connection.TRANSACTION_READ_COMMITTED, Connection.TRANSACTION_REPEATABLE_READ,
        Connection.TRANSACTION_SERIALIZABLE};

    private static final List<String> STATEMENTS = List.of(
            "SELECT 1", "SELECT count(*) FROM jt_static", "SELECT x FROM jt_static ORDER BY x",
            "SELECT 1; SELECT 2", "SELECT 1/0", "SELEC 1", "INSERT INTO jt_missing VALUES (1)",
            // the UPDATE reads nothing, so the twins' serializable transactions never conflict
            "INSERT INTO jt_log (v) VALUES (1)", "UPDATE jt_log SET v = v WHERE false",
            "INSERT INTO jt_log (v) VALUES (2); SELECT count(*) FROM jt_static",
            "BEGIN", "COMMIT", "ROLLBACK", "SET search_path = public", "SHOW search_path",
            // a temp table lives where it was made (the primary): the session's later reads of it must go there
            "CREATE TEMP TABLE IF NOT EXISTS jt_tmp (v int)", "INSERT INTO jt_tmp VALUES (1)",
            "SELECT count(*) FROM jt_tmp",
            "DISCARD ALL", "RESET ALL", "SET statement_timeout = '5min'", "SHOW statement_timeout",
            // settings inside transactions: they count once it commits, and a savepoint rolled back to undoes them
            "SAVEPOINT sq", "ROLLBACK TO SAVEPOINT sq", "RELEASE SAVEPOINT sq", "SET LOCAL statement_timeout = '6min'",
            "SET statement_timeout = '7min'; SELECT 1", "DISCARD PLANS",
            // a statement prepared before an error in the same text stays, even after a rollback
            "PREPARE jt_p AS SELECT 3; SELECT 1/0", "EXECUTE jt_p", "DEALLOCATE jt_p");
    private static final List<String> PREPARED = List.of(
            "SELECT ?::int + 1", "SELECT x FROM jt_static WHERE x > ? ORDER BY x", "INSERT INTO jt_log (v) VALUES (?)",
            "SELECT 10 / ?::int");

    private JdbcTwins() {
    }

    /**
     * Makes {@code calls} random calls on both connections (closing them after) and fails at the first answer
     * that differs, with the seed and the last calls.
     */
    public static void converse(Connection expected, Connection tested, long seed, int calls) throws SQLException {
        Random random = new Random(seed);
        Deque<String> transcript = new ArrayDeque<>();
        try (Twin direct = new Twin(expected); Twin other = new Twin(tested)) {
            for (int i = 0; i < calls; i++) {
                Call next = call(random);
                String want = direct.run(next);
                transcript.addLast(next + " -> " + want);
                if (transcript.size() > 15) {
                    transcript.removeFirst();
                }
                String failure = "seed " + seed + ", call " + i + "; the last ones:\n" + String.join("\n", transcript);
                String got;
                try {
                    got = other.run(next);
                } catch (RuntimeException e) {
                    throw new AssertionError(failure, e);
                }
                assertEquals(want, got, failure);
            }
        }
    }

    /** One JDBC call, with the arguments it was drawn with. */
    private record Call(String kind, String sql, int argument) {
        @Override
        public String toString() {
            return kind + (sql == null ? "" : "(" + sql + ")") + (argument == 0 ? "" : " " + argument);
        }
    }

    private static Call call(Random random) {
        int argument = random.nextInt(4); // 0 divides by zero in "SELECT 10 / ?"
        switch (random.nextInt(18)) {
            case 0, 1, 2, 3:
                return new Call("execute", STATEMENTS.get(random.nextInt(STATEMENTS.size())), 0);
            case 4, 5, 6:
                return new Call("prepared", PREPARED.get(random.nextInt(PREPARED.size())), argument);
            case 7:
                return new Call("batch", null, 1 + argument);
            case 8:
                return new Call("autocommit", null, random.nextInt(2));
            case 9:
                return new Call("commit", null, 0);
            case 10:
                return new Call("rollback", null, 0);
            case 11:
                return new Call("savepoint", null, random.nextInt(3)); // 0 set, 1 roll back to, 2 release
            case 12:
                return new Call("readonly", null, random.nextInt(2));
            case 13:
                return new Call("isolation", null, random.nextInt(4));
            case 14:
                return new Call("fetch", STATEMENTS.get(random.nextInt(STATEMENTS.size())), 1 + argument);
            case 15:
                return new Call("keys", "INSERT INTO jt_log (v) VALUES (5)", 0);
            case 16:
                return new Call("query", STATEMENTS.get(random.nextInt(STATEMENTS.size())), 0);
            default:
                return new Call("execute", "SELECT count(*) FROM jt_static WHERE x < 3", 0);
        }
    }

    /** A connection and the statements and savepoint made on it, answering each call as comparable text. */
    private static final class Twin implements AutoCloseable {
        private final Connection connection;
        private final Map<String, PreparedStatement> prepared = new HashMap<>();
        private Savepoint savepoint;

        Twin(Connection connection) {
            this.connection = connection;
        }

        String run(Call call) {
            try {
                return answer(call);
            } catch (SQLException e) {
                return "error " + e.getSQLState();
            }
        }

        private String answer(Call call) throws SQLException {
            if (call.sql() != null && call.sql().startsWith("PREPARE") && connection.isReadOnly()
                    && !connection.getAutoCommit()) {
                return "skipped: a read-only transaction on a replica refuses PREPARE, as documented";
            }
            switch (call.kind()) {
                case "execute":
                    try (Statement s = connection.createStatement()) {
                        return results(s, s.execute(call.sql()));
                    }
                case "prepared":
                    PreparedStatement ps = prepared.get(call.sql());
                    if (ps == null) {
                        ps = connection.prepareStatement(call.sql());
                        prepared.put(call.sql(), ps); // reused, so pgjdbc prepares it on the server after 5 uses
                    }
                    ps.setInt(1, call.argument());
                    return results(ps, ps.execute());
                case "batch":
                    try (PreparedStatement insert = connection.prepareStatement("INSERT INTO jt_log (v) VALUES (?)")) {
                        for (int i = 0; i < call.argument(); i++) {
                            insert.setInt(1, i);
                            insert.addBatch();
                        }
                        return Arrays.toString(insert.executeBatch());
                    }
                case "autocommit":
                    connection.setAutoCommit(call.argument() == 1);
                    return "autocommit " + connection.getAutoCommit();
                case "commit":
                    connection.commit();
                    return "committed";
                case "rollback":
                    connection.rollback();
                    return "rolled back";
                case "readonly":
                    connection.setReadOnly(call.argument() == 1);
                    return "read only " + connection.isReadOnly();
                case "isolation":
                    connection.setTransactionIsolation(ISOLATION[call.argument()]);
                    return "isolation " + connection.getTransactionIsolation();
                case "fetch": // with autocommit off, pgjdbc fetches through a portal, a few rows at a time
                    try (Statement s = connection.createStatement()) {
                        s.setFetchSize(call.argument());
                        return results(s, s.execute(call.sql()));
                    }
                case "keys":
                    try (Statement s = connection.createStatement()) {
                        s.executeUpdate(call.sql(), Statement.RETURN_GENERATED_KEYS);
                        try (ResultSet keys = s.getGeneratedKeys()) {
                            return keys.next() ? "key " + keys.getString(1) : "no key";
                        }
                    }
                case "query":
                    try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(call.sql())) {
                        return "first row " + (rs.next() ? rs.getString(1) : "none");
                    }
                default:
                    return savepoint(call.argument());
            }
        }

        private String savepoint(int action) throws SQLException {
            if (action == 0) {
                savepoint = connection.setSavepoint();
                return "savepoint";
            }
            if (savepoint == null) {
                return "no savepoint";
            }
            Savepoint sp = savepoint;
            savepoint = null;
            if (action == 1) {
                connection.rollback(sp);
                return "rolled back to savepoint";
            }
            connection.releaseSavepoint(sp);
            return "released savepoint";
        }

        /** Every result of a statement: rows of each result set, update counts. */
        private static String results(Statement s, boolean isResultSet) throws SQLException {
            List<String> out = new ArrayList<>();
            boolean resultSet = isResultSet;
            while (true) {
                if (resultSet) {
                    try (ResultSet rs = s.getResultSet()) {
                        ResultSetMetaData meta = rs.getMetaData();
                        List<String> rows = new ArrayList<>();
                        while (rs.next()) {
                            List<String> row = new ArrayList<>();
                            for (int c = 1; c <= meta.getColumnCount(); c++) {
                                row.add(rs.getString(c));
                            }
                            rows.add(String.join(",", row));
                        }
                        out.add("rows " + rows);
                    }
                } else {
                    int count = s.getUpdateCount();
                    if (count == -1) {
                        break;
                    }
                    out.add("count " + count);
                }
                resultSet = s.getMoreResults();
            }
            return String.join("; ", out);
        }

        @Override
        public void close() throws SQLException {
            try {
                if (!connection.getAutoCommit()) {
                    connection.rollback();
                }
            } finally {
                connection.close();
            }
        }
    }
}
