package io.replicant.cdc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.YamlConfigLoader;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;
import io.replicant.testkit.TestCertificates;

/**
 * The pipeline's connections to the source (Debezium's replication stream and the catalog lookups) follow the
 * jdbc: section's TLS settings like every other connection to the cluster: checked on the source, whose
 * pg_stat_ssl shows the client certificate only a connection that was given it can present.
 */
class CdcTlsIT {
    private static final String H2_URL = "jdbc:h2:mem:cdc_tls_follower;DB_CLOSE_DELAY=-1";
    private static LocalPostgresCluster source;
    private static TestCertificates authority;
    private static TestCertificates.Issued client;
    private static Path clientKey;

    @BeforeAll
    static void start(@TempDir Path dir) {
        authority = TestCertificates.authority(dir, "cdc-test-ca");
        client = authority.issue("cdc-client", "replicant-cdc", null);
        clientKey = authority.derKey(client, null);
        source = LocalPostgresCluster.builder().replicas(0)
                .tls(authority.issue("server", "127.0.0.1", "IP:127.0.0.1"), authority.certificate()).start();
    }

    @AfterAll
    static void stop() {
        if (source != null) {
            source.close();
        }
    }

    @Test
    void theReplicationStreamRunsOverVerifiedTlsWithTheClientCertificate() throws Exception {
        try (Connection c = source.primary().connect("app"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)");
            s.execute("INSERT INTO notes VALUES (1, 'before the pipeline')");
        }
        ReplicantConfig config = YamlConfigLoader.parse("test.yaml", String.join("\n",
                "hosts: [" + source.primary().address() + "]",
                "database: app",
                "user: postgres",
                "jdbc:",
                "  sslmode: verify-full",
                "  sslrootcert: " + authority.certificate(),
                "  sslcert: " + client.certificate(),
                "  sslkey: " + clientKey,
                "cdc:",
                "  slot: tls_slot",
                "  publication: tls_pub",
                "  poll_interval: 10ms",
                "  http:",
                "    listen: off",
                "  followers:",
                "    - name: h2",
                "      url: \"" + H2_URL + "\"",
                "      user: sa",
                "      create_tables: true",
                ""), Map.of()).build();
        try (CdcPipeline pipeline = CdcPipeline.start(config, new SimpleMeterRegistry())) {
            try (Connection c = source.primary().connect("app"); Statement s = c.createStatement()) {
                s.execute("INSERT INTO notes VALUES (2, 'streamed')");
            }
            awaitFollowerRows(2);
            assertEquals("walsender true /CN=replicant-cdc", source.primary().query("SELECT string_agg("
                    + "a.backend_type || ' ' || s.ssl || ' ' || coalesce(s.client_dn, 'no client certificate'), ',') "
                    + "FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.backend_type = 'walsender'"));
        }
    }

    private static void awaitFollowerRows(int rows) throws SQLException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        long seen = -1;
        while (System.nanoTime() < deadline) {
            try (Connection h2 = DriverManager.getConnection(H2_URL, "sa", ""); Statement s = h2.createStatement();
                    ResultSet rs = s.executeQuery("SELECT count(*) FROM information_schema.tables WHERE "
                            + "lower(table_name) = 'notes'")) {
                rs.next();
                if (rs.getInt(1) == 1) {
                    try (ResultSet count = s.executeQuery("SELECT count(*) FROM notes")) {
                        count.next();
                        seen = count.getLong(1);
                    }
                }
            }
            if (seen == rows) {
                return;
            }
            PgNode.sleep(100);
        }
        assertEquals(rows, seen, "rows on the H2 follower");
    }
}
