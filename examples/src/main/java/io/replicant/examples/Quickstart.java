package io.replicant.examples;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import io.replicant.ReplicantConnection;
import io.replicant.ReplicantDataSource;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;

/**
 * Starts a throwaway cluster (a primary and two streaming replicas) from this machine's PostgreSQL binaries,
 * runs a small app through {@code jdbc:replicant:}, prints where each statement went and why, and stops the
 * cluster again.
 */
public final class Quickstart {
    private Quickstart() {
    }

    public static void main(String[] args) throws SQLException {
        System.out.println("Starting a local cluster (primary + 2 streaming replicas)...");
        try (LocalPostgresCluster cluster = LocalPostgresCluster.builder().replicas(2).start()) {
            for (PgNode node : cluster.nodes()) {
                System.out.printf("  %-8s %s%n", node.name(), node.address());
            }
            String url = "jdbc:replicant:postgresql://" + cluster.hostList() + "/" + LocalPostgresCluster.APP_DATABASE
                    + "?user=" + LocalPostgresCluster.APP_USER;
            System.out.println("\nURL: " + url + "  (password from setPassword)\n");
            try (ReplicantDataSource dataSource = new ReplicantDataSource(url)) {
                dataSource.setPassword(LocalPostgresCluster.APP_PASSWORD);
                runApp(dataSource, cluster);
            }
            System.out.println("\nStopping the cluster.");
        }
    }

    private static void runApp(ReplicantDataSource dataSource, LocalPostgresCluster cluster) throws SQLException {
        try (Connection conn = dataSource.getConnection(); Statement s = conn.createStatement()) {
            ReplicantConnection rc = conn.unwrap(ReplicantConnection.class);
            run(rc, s, "CREATE TABLE accounts (id serial PRIMARY KEY, owner text, balance numeric)");
            run(rc, s, "INSERT INTO accounts (owner, balance) VALUES ('ada', 100), ('alan', 50)");
            cluster.awaitReplay(); // read-your-writes across replicas is the consistency issue's job; here we wait
            run(rc, s, "SELECT owner, balance FROM accounts ORDER BY id");
            run(rc, s, "SELECT count(*) FROM accounts");
            run(rc, s, "SELECT nextval('accounts_id_seq')");
            run(rc, s, "SELECT * FROM accounts WHERE id = 1 FOR UPDATE");
            run(rc, s, "WITH moved AS (UPDATE accounts SET balance = balance - 10 WHERE id = 1 RETURNING *) "
                    + "SELECT * FROM moved");
            run(rc, s, "SET search_path TO public");
            run(rc, s, "SHOW search_path");
            run(rc, s, "CREATE TEMP TABLE scratch (id int)");
            run(rc, s, "SELECT count(*) FROM scratch");
            run(rc, s, "/* replicant:route=primary */ SELECT count(*) FROM accounts");
            run(rc, s, "SELECT '/* replicant:route=primary */ is only text here'");

            try (PreparedStatement ps = conn.prepareStatement("SELECT balance FROM accounts WHERE id = ?")) {
                for (int id = 1; id <= 2; id++) {
                    ps.setInt(1, id);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        print("prepared SELECT (id=" + id + ")", rc, rs.getString(1));
                    }
                }
            }

            conn.setReadOnly(true);
            conn.setAutoCommit(false);
            run(rc, s, "SELECT sum(balance) FROM accounts");
            run(rc, s, "SELECT max(balance) FROM accounts");
            conn.commit();
            conn.setReadOnly(false);
            run(rc, s, "UPDATE accounts SET balance = balance + 1");
            run(rc, s, "SELECT count(*) FROM accounts");
            conn.commit();
            conn.setAutoCommit(true);

            System.out.println("\nexplain() without executing:");
            for (String sql : new String[] {"SELECT * FROM accounts", "DELETE FROM accounts", "SELECT pg_advisory_lock(1)",
                    "SELECT a @? '$.x' FROM t"}) {
                System.out.printf("  %-40s -> %s%n", sql, rc.explain(sql));
            }
        }
    }

    private static void run(ReplicantConnection rc, Statement s, String sql) throws SQLException {
        String result = "";
        if (s.execute(sql)) {
            try (ResultSet rs = s.getResultSet()) {
                result = rs.next() ? rs.getString(1) : "(no rows)";
            }
        }
        print(sql, rc, result);
    }

    private static void print(String sql, ReplicantConnection rc, String result) {
        String shown = sql.length() > 60 ? sql.substring(0, 57) + "..." : sql;
        System.out.printf("  %-60s -> %-45s %s%n", shown, rc.lastRoute(), result.isEmpty() ? "" : "= " + result);
    }
}
