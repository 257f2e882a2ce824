package io.replicant.testkit;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/** One PostgreSQL server of a {@link LocalPostgresCluster}, with the operations tests need on it. */
public final class PgNode {
    public static final String HOST = "127.0.0.1";

    private final String name;
    private final int port;
    private final Path dataDir;
    private final Path logFile;
    private final PostgresBinaries bin;

    PgNode(String name, int port, Path dataDir, Path logFile, PostgresBinaries bin) {
        this.name = name;
        this.port = port;
        this.dataDir = dataDir;
        this.logFile = logFile;
        this.bin = bin;
    }

    public String name() {
        return name;
    }

    public int port() {
        return port;
    }

    /** {@code 127.0.0.1:port}. */
    public String address() {
        return HOST + ":" + port;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path logFile() {
        return logFile;
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + address() + "/" + database;
    }

    /** A direct pgjdbc connection as the superuser (trust on loopback). */
    public Connection connect(String database) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", LocalPostgresCluster.SUPERUSER);
        props.setProperty("connectTimeout", "10");
        return DriverManager.getConnection(jdbcUrl(database), props);
    }

    /** Runs one statement as the superuser on database {@code postgres}; returns the first column of the first row, if any. */
    public String query(String sql) {
        try (Connection c = connect("postgres"); Statement s = c.createStatement()) {
            if (s.execute(sql)) {
                try (ResultSet rs = s.getResultSet()) {
                    return rs.next() ? rs.getString(1) : null;
                }
            }
            return null;
        } catch (SQLException e) {
            throw new IllegalStateException(name + ": " + sql + " failed: " + e.getMessage(), e);
        }
    }

    public boolean isInRecovery() {
        return "t".equals(query("SELECT pg_is_in_recovery()"));
    }

    public void start() {
        OsCommand.run(logFile.getParent(), 120, bin.path("pg_ctl"), "-D", dataDir.toString(), "-l", logFile.toString(),
                "-w", "-t", "90", "start");
    }

    /** Fast shutdown: sessions are terminated, the server shuts down cleanly. */
    public void stop() {
        if (isRunning()) {
            OsCommand.run(logFile.getParent(), 120, bin.path("pg_ctl"), "-D", dataDir.toString(), "-m", "fast", "-w",
                    "-t", "90", "stop");
        }
    }

    /** SIGKILL to the postmaster: a crash, as a power cut would look to clients. */
    public void kill() {
        long pid = postmasterPid();
        if (pid <= 0) {
            return;
        }
        OsCommand.runAsSelf("kill", "-9", Long.toString(pid));
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) || acceptsConnections()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(name + " still alive 30s after SIGKILL");
            }
            sleep(50);
        }
    }

    /** Promotes a replica to primary and waits until it accepts writes. */
    public void promote() {
        OsCommand.run(logFile.getParent(), 120, bin.path("pg_ctl"), "-D", dataDir.toString(), "-w", "-t", "90",
                "promote");
    }

    public void pauseReplay() {
        query("SELECT pg_wal_replay_pause()");
    }

    public void resumeReplay() {
        query("SELECT pg_wal_replay_resume()");
    }

    public boolean isRunning() {
        long pid = postmasterPid();
        return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    boolean acceptsConnections() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(HOST, port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private long postmasterPid() {
        Path pidFile = dataDir.resolve("postmaster.pid");
        try {
            if (!Files.exists(pidFile)) {
                return -1;
            }
            String first = Files.readAllLines(pidFile, StandardCharsets.US_ASCII).get(0).trim();
            return Long.parseLong(first);
        } catch (IOException | IndexOutOfBoundsException | NumberFormatException e) {
            return -1;
        }
    }

    long logSize() {
        try {
            return Files.exists(logFile) ? Files.size(logFile) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    /** The log text written since {@code offset}. */
    String logSince(long offset) {
        try (RandomAccessFile file = new RandomAccessFile(logFile.toFile(), "r")) {
            long length = file.length();
            if (offset >= length) {
                return "";
            }
            byte[] bytes = new byte[(int) (length - offset)];
            file.seek(offset);
            file.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + logFile, e);
        }
    }

    public static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @Override
    public String toString() {
        return name + "@" + address();
    }
}
