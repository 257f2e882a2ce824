package io.replicant.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import io.replicant.ReplicantDataSource;

/**
 * Point SELECT by primary key with a PreparedStatement, one connection per benchmark thread:
 * {@code direct} pgjdbc to the primary, Replicant with only the primary ({@code replicant-primary}), and
 * Replicant with the primary and two replicas ({@code replicant-replicas}). The cluster's addresses come
 * from system properties set by {@link RunBenchmarks}.
 */
public class PointSelectBenchmark {
    static final String SQL = "SELECT abalance FROM bench_accounts WHERE aid = ?";

    /** The connection source for one target, shared by the benchmark's threads. */
    @State(Scope.Benchmark)
    public static class Target {
        @Param({"direct", "replicant-primary", "replicant-replicas"})
        public String target;

        ReplicantDataSource replicant;
        String directUrl;
        Properties directProps;

        @Setup(Level.Trial)
        public void open() {
            String primary = System.getProperty("bench.primary");
            String hosts = System.getProperty("bench.hosts");
            String credentials = "user=" + System.getProperty("bench.user") + "&password=" + System.getProperty("bench.password");
            switch (target) {
                case "direct":
                    directUrl = "jdbc:postgresql://" + primary + "/" + System.getProperty("bench.database");
                    directProps = new Properties();
                    directProps.setProperty("user", System.getProperty("bench.user"));
                    directProps.setProperty("password", System.getProperty("bench.password"));
                    break;
                case "replicant-primary":
                    replicant = new ReplicantDataSource("jdbc:replicant:postgresql://" + primary + "/"
                            + System.getProperty("bench.database") + "?" + credentials + "&pool.max_size=16");
                    break;
                default:
                    replicant = new ReplicantDataSource("jdbc:replicant:postgresql://" + hosts + "/"
                            + System.getProperty("bench.database") + "?" + credentials + "&pool.max_size=16");
            }
        }

        Connection connect() throws SQLException {
            return replicant != null ? replicant.getConnection() : DriverManager.getConnection(directUrl, directProps);
        }

        @TearDown(Level.Trial)
        public void close() {
            if (replicant != null) {
                replicant.close();
            }
        }
    }

    /** One connection and prepared statement per thread, for the whole trial. */
    @State(Scope.Thread)
    public static class Session {
        Connection connection;
        PreparedStatement select;
        int rows;

        @Setup(Level.Trial)
        public void open(Target target) throws SQLException {
            connection = target.connect();
            select = connection.prepareStatement(SQL);
            rows = Integer.getInteger("bench.rows");
        }

        @TearDown(Level.Trial)
        public void close() throws SQLException {
            select.close();
            connection.close();
        }
    }

    @Benchmark
    public int pointSelect(Session session) throws SQLException {
        session.select.setInt(1, 1 + ThreadLocalRandom.current().nextInt(session.rows));
        try (ResultSet rs = session.select.executeQuery()) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
