package io.replicant.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL cluster on loopback: one primary and N streaming replicas made with
 * {@code pg_basebackup -R}, each on a free port, in a temp directory, from the machine's binaries.
 * Runs the servers as the {@code postgres} OS user when this JVM is root. Configured for the later
 * CDC work too: {@code wal_level=logical}, {@code track_commit_timestamp=on}, spare WAL senders and slots.
 *
 * <p>Roles: the superuser {@value #SUPERUSER} (trust on loopback) and {@value #APP_USER} with password
 * {@value #APP_PASSWORD} (SCRAM-SHA-256), owner of database {@value #APP_DATABASE}.
 */
public final class LocalPostgresCluster implements AutoCloseable {
    public static final String SUPERUSER = "postgres";
    public static final String APP_USER = "app";
    public static final String APP_PASSWORD = "app-secret";
    public static final String APP_DATABASE = "app";

    private final Path root;
    private final PgNode primary;
    private final List<PgNode> replicas;
    private final PostgresBinaries bin;
    private final Thread shutdownHook = new Thread(this::destroy, "replicant-testkit-cluster-shutdown");
    private volatile boolean closed;

    private LocalPostgresCluster(Path root, PgNode primary, List<PgNode> replicas, PostgresBinaries bin) {
        this.root = root;
        this.primary = primary;
        this.replicas = List.copyOf(replicas);
        this.bin = bin;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Settings for a new cluster. */
    public static final class Builder {
        private int replicas = 2;
        private boolean logStatements;
        private TestCertificates.Issued tls;
        private Path clientCa;
        private final List<String> hbaFirst = new ArrayList<>();

        public Builder replicas(int count) {
            this.replicas = count;
            return this;
        }

        /** {@code log_statement=all}, so tests can see on the server side where each statement ran. */
        public Builder logStatements(boolean enabled) {
            this.logStatements = enabled;
            return this;
        }

        /**
         * {@code ssl = on} on every server with this certificate; with {@code clientCa}, servers also ask clients
         * for a certificate signed by it (optional unless pg_hba.conf says {@code cert}).
         */
        public Builder tls(TestCertificates.Issued certificate, Path clientCa) {
            this.tls = certificate;
            this.clientCa = clientCa;
            return this;
        }

        /** pg_hba.conf lines placed before the fixture's own (which let every role in over any connection). */
        public Builder hbaFirst(String... lines) {
            hbaFirst.addAll(List.of(lines));
            return this;
        }

        public LocalPostgresCluster start() {
            return LocalPostgresCluster.start(this);
        }
    }

    private static LocalPostgresCluster start(Builder settings) {
        PostgresBinaries bin = PostgresBinaries.locate();
        Path root;
        try {
            root = Files.createTempDirectory("replicant-pg-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        giveToServerUser(root);
        PgNode primary = new PgNode("primary", freePort(), root.resolve("primary"), root.resolve("primary.log"), bin);
        List<PgNode> replicas = new ArrayList<>();
        for (int i = 1; i <= settings.replicas; i++) {
            String name = "replica" + i;
            replicas.add(new PgNode(name, freePort(), root.resolve(name), root.resolve(name + ".log"), bin));
        }
        LocalPostgresCluster cluster = new LocalPostgresCluster(root, primary, replicas, bin);
        Runtime.getRuntime().addShutdownHook(cluster.shutdownHook);
        try {
            cluster.initPrimary(settings);
            for (PgNode replica : replicas) {
                cluster.initReplica(replica);
            }
            cluster.awaitStreaming();
            return cluster;
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    private void initPrimary(Builder settings) {
        OsCommand.run(root, 120, bin.path("initdb"), "-D", primary.dataDir().toString(), "-U", SUPERUSER,
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "-N");
        String conf = String.join("\n",
                "listen_addresses = '" + PgNode.HOST + "'",
                "port = " + primary.port(),
                "unix_socket_directories = ''",
                "max_connections = 300",
                "shared_buffers = 64MB",
                "wal_level = logical",
                "track_commit_timestamp = on",
                "max_wal_senders = 20",
                "max_replication_slots = 20",
                "hot_standby = on",
                "hot_standby_feedback = on",
                "wal_keep_size = 256MB",
                // Throwaway data: durability buys nothing here and costs seconds per test run.
                "fsync = off",
                "full_page_writes = off",
                "log_line_prefix = '%m [%p] %a '",
                "log_statement = '" + (settings.logStatements ? "all" : "none") + "'",
                "log_min_error_statement = error",
                "");
        append(primary.dataDir().resolve("postgresql.conf"), conf);
        if (settings.tls != null) {
            enableTls(settings);
        }
        String hba = String.join("\n",
                "# written by replicant-testkit",
                String.join("\n", settings.hbaFirst),
                "host all " + SUPERUSER + " 127.0.0.1/32 trust",
                "host replication " + SUPERUSER + " 127.0.0.1/32 trust",
                "host all all 127.0.0.1/32 scram-sha-256",
                "");
        write(primary.dataDir().resolve("pg_hba.conf"), hba);
        primary.start();
        primary.query("CREATE ROLE " + APP_USER + " LOGIN PASSWORD '" + APP_PASSWORD + "'");
        primary.query("CREATE DATABASE " + APP_DATABASE + " OWNER " + APP_USER);
    }

    /** Copies the certificate files into the primary's data directory, where pg_basebackup takes them along. */
    private void enableTls(Builder settings) {
        Path data = primary.dataDir();
        try {
            Files.copy(settings.tls.certificate(), data.resolve("server.crt"));
            Files.copy(settings.tls.key(), data.resolve("server.key"));
            if (settings.clientCa != null) {
                Files.copy(settings.clientCa, data.resolve("root.crt"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (OsCommand.runningAsRoot()) {
            OsCommand.runAsSelf("chown", OsCommand.SERVER_USER + ":", data.resolve("server.crt").toString(),
                    data.resolve("server.key").toString(), data.resolve(settings.clientCa != null ? "root.crt"
                            : "server.crt").toString());
        }
        OsCommand.runAsSelf("chmod", "600", data.resolve("server.key").toString()); // PostgreSQL insists
        append(data.resolve("postgresql.conf"), "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
                + (settings.clientCa != null ? "ssl_ca_file = 'root.crt'\n" : ""));
    }

    private void initReplica(PgNode replica) {
        String slot = replica.name() + "_slot";
        OsCommand.run(root, 300, bin.path("pg_basebackup"), "-h", PgNode.HOST, "-p", Integer.toString(primary.port()),
                "-U", SUPERUSER, "-D", replica.dataDir().toString(), "-R", "-X", "stream", "-C", "-S", slot, "-c", "fast");
        // postgresql.auto.conf is read last; -R already put primary_conninfo and primary_slot_name there.
        append(replica.dataDir().resolve("postgresql.auto.conf"),
                "port = " + replica.port() + "\ncluster_name = '" + replica.name() + "'\n");
        replica.start();
    }

    /** Waits until every replica streams from the primary and has replayed its current WAL position. */
    public void awaitStreaming() {
        long deadline = System.nanoTime() + 90_000_000_000L;
        while (true) {
            String streaming = primary.query("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'");
            if (Integer.parseInt(streaming) >= replicas.size()) {
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("only " + streaming + " of " + replicas.size()
                        + " replicas streaming after 90s; see logs in " + root);
            }
            PgNode.sleep(100);
        }
        awaitReplay();
    }

    /** Waits until every running replica has replayed the primary's current WAL position. */
    public void awaitReplay() {
        String target = primary.query("SELECT pg_current_wal_lsn()");
        long deadline = System.nanoTime() + 60_000_000_000L;
        for (PgNode replica : replicas) {
            if (!replica.isRunning() || !replica.isInRecovery()) {
                continue;
            }
            while (!"t".equals(replica.query("SELECT pg_last_wal_replay_lsn() >= '" + target + "'::pg_lsn"))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(replica + " did not replay " + target + " within 60s");
                }
                PgNode.sleep(20);
            }
        }
    }

    public PgNode primary() {
        return primary;
    }

    public List<PgNode> replicas() {
        return replicas;
    }

    public PgNode replica(int index) {
        return replicas.get(index);
    }

    /** Every node, primary first. */
    public List<PgNode> nodes() {
        List<PgNode> all = new ArrayList<>();
        all.add(primary);
        all.addAll(replicas);
        return all;
    }

    /** The nodes as {@code host:port,host:port,…}, primary first, as a {@code jdbc:replicant:postgresql://} URL wants them. */
    public String hostList() {
        StringBuilder sb = new StringBuilder();
        for (PgNode node : nodes()) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(node.address());
        }
        return sb.toString();
    }

    /** A mark in every node's server log; statements logged after it can be looked up by a unique marker. */
    public StatementLog.Mark markLogs() {
        return StatementLog.mark(nodes());
    }

    public Path root() {
        return root;
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // already shutting down: the hook runs destroy() itself
        }
        destroy();
    }

    private synchronized void destroy() {
        if (closed) {
            return;
        }
        closed = true;
        for (int i = replicas.size() - 1; i >= 0; i--) {
            stopQuietly(replicas.get(i));
        }
        stopQuietly(primary);
        deleteTree(root);
    }

    private static void stopQuietly(PgNode node) {
        try {
            node.stop();
        } catch (RuntimeException e) {
            node.kill();
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: it is a temp directory
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(PgNode.HOST))) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port on loopback", e);
        }
    }

    private static void giveToServerUser(Path dir) {
        if (OsCommand.runningAsRoot()) {
            OsCommand.runAsSelf("chown", OsCommand.SERVER_USER + ":", dir.toString());
        }
    }

    private static void append(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
