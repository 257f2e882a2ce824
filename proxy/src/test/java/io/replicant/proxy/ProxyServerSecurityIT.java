package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.replicant.config.HostSpec;
import io.replicant.config.YamlConfigLoader;
import io.replicant.proxy.backend.BackendConnection;
import io.replicant.proxy.backend.BackendLoginException;
import io.replicant.proxy.backend.Credentials;
import io.replicant.proxy.backend.ServerSecurity;
import io.replicant.router.Backend;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PgNode;
import io.replicant.testkit.PostgresClusterExtension;
import io.replicant.testkit.TestCertificates;

/**
 * The proxy's own server connections, secured as the jdbc: section asks: TLS, channel binding and requireAuth.
 * A cluster of its own runs with {@code ssl = on}, a certificate for 127.0.0.1 signed by a test authority, and a
 * role that pg_hba.conf admits only over TLS; the shared cluster (no TLS) shows what happens when a server
 * declines. What ran encrypted is checked on the servers, in pg_stat_ssl.
 */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ProxyServerSecurityIT {
    private static final String TLS_ONLY = "tls_only";
    private LocalPostgresCluster plainCluster;
    private LocalPostgresCluster tlsCluster;
    private TestCertificates authority;
    private TestCertificates.Issued client;
    private Path clientKey;
    private Path untrustedAuthority;
    private final EventLoopGroup loops = Transport.eventLoops(1);

    @BeforeAll
    void start(LocalPostgresCluster shared, @TempDir Path dir) {
        plainCluster = shared;
        authority = TestCertificates.authority(dir, "replicant-test-ca");
        untrustedAuthority = TestCertificates.authority(dir, "other-ca").certificate();
        client = authority.issue("proxy-client", "replicant-proxy", null);
        clientKey = authority.derKey(client, null);
        tlsCluster = LocalPostgresCluster.builder().replicas(1)
                .tls(authority.issue("server", "127.0.0.1", "IP:127.0.0.1"), authority.certificate())
                .hbaFirst("hostnossl all " + TLS_ONLY + " 127.0.0.1/32 reject").start();
        tlsCluster.primary().query("CREATE ROLE " + TLS_ONLY + " LOGIN PASSWORD 'tls-secret'");
    }

    @AfterAll
    void stop() {
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (tlsCluster != null) {
            tlsCluster.close();
        }
    }

    private String verifyFull() {
        return "jdbc:\n  sslmode: verify-full\n  sslrootcert: " + authority.certificate() + "\n  sslcert: "
                + client.certificate() + "\n  sslkey: " + clientKey + "\n  channelBinding: require\n";
    }

    @Test
    void everyServerSessionIsVerifiedEncryptedAndPresentsTheClientCertificate() throws Exception {
        ProxyFixture.setUp(tlsCluster, "CREATE TABLE IF NOT EXISTS tls_notes (id int)");
        try (ReplicantProxy proxy = ReplicantProxy.start(ProxyFixture.config(tlsCluster, verifyFull()),
                new SimpleMeterRegistry());
                Connection c = ProxyFixture.connect(proxy, "extended", "tls-verify-full");
                Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO tls_notes VALUES (1)");
            tlsCluster.awaitReplay();
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM tls_notes")) {
                assertTrue(rs.next());
                assertTrue(rs.getInt(1) >= 1);
            }
            for (PgNode node : tlsCluster.nodes()) { // the INSERT ran on the primary, the SELECT on the replica
                assertEquals("true TLSv1.3 /CN=replicant-proxy", node.query("SELECT string_agg(s.ssl || ' ' || "
                        + "s.version || ' ' || s.client_dn, ',') FROM pg_stat_ssl s JOIN pg_stat_activity a "
                        + "USING (pid) WHERE a.application_name = 'tls-verify-full'").trim(), node.name());
            }
            List<String> shown = new ArrayList<>();
            try (Connection admin = ProxyFixture.admin(proxy); Statement a = admin.createStatement();
                    ResultSet rs = a.executeQuery("SHOW SERVERS")) {
                while (rs.next()) {
                    if ("tls-verify-full".equals(rs.getString("application_name"))) {
                        shown.add(rs.getString("tls"));
                    }
                }
            }
            assertEquals(2, shown.size(), shown.toString());
            assertTrue(shown.stream().allMatch(t -> t.startsWith("TLSv1.3/TLS_")), shown.toString());
        }
    }

    /**
     * A cancel travels inside TLS like the session it cancels, so its secret key is never sent in clear: the only
     * path to the primary is a relay that records how each connection begins, and none begins with a CancelRequest.
     */
    @Test
    void aCancelTravelsInsideTlsLikeItsSession() throws Exception {
        try (ConnectionStarts relay = new ConnectionStarts(tlsCluster.primary().port());
                ReplicantProxy proxy = ReplicantProxy.start(YamlConfigLoader.parse("relay.yaml",
                        ProxyFixture.yaml(tlsCluster, verifyFull()).replaceFirst("hosts: \\[[^]]*]",
                                "hosts: [127.0.0.1:" + relay.port() + "]"), Map.of()).build(), new SimpleMeterRegistry());
                Connection c = ProxyFixture.connect(proxy, "simple", "tls-cancel");
                Statement s = c.createStatement()) {
            CompletableFuture<SQLException> sleeping = CompletableFuture.supplyAsync(() -> {
                try {
                    s.execute("SELECT pg_sleep(30)");
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            ProxyFixture.sleep(500);
            s.cancel();
            SQLException e = sleeping.get(10, TimeUnit.SECONDS);
            assertNotNull(e, "the query was not cancelled");
            assertEquals("57014", e.getSQLState(), e.getMessage());
            List<Integer> codes = relay.codes();
            assertTrue(codes.size() >= 2, "the session and its cancel went through the relay: " + codes);
            assertTrue(codes.stream().allMatch(code -> code == ConnectionStarts.SSL_REQUEST),
                    "every connection asked for TLS first (" + ConnectionStarts.CANCEL_REQUEST + " is a cancel in clear): "
                            + codes);
        }
    }

    @Test
    void aProxyThatCannotTrustItsServersDoesNotStart() {
        String wrongAuthority = "jdbc:\n  sslmode: verify-ca\n  sslrootcert: " + untrustedAuthority + "\n";
        SQLException e = assertThrows(SQLException.class, () -> ReplicantProxy.start(
                ProxyFixture.config(tlsCluster, wrongAuthority), new SimpleMeterRegistry()).close());
        assertTrue(e.getMessage().contains("PKIX path building failed"), e.getMessage());
    }

    @Test
    void serverCertificatesAreCheckedAsSslmodeSays() throws Exception {
        int port = tlsCluster.primary().port();
        String wrongAuthority = "jdbc:\n  sslrootcert: " + untrustedAuthority + "\n  sslmode: ";
        assertRefused("08001", "TLS with primary 127.0.0.1:" + port + " failed (jdbc.sslmode is verify-ca): PKIX path "
                + "building failed", open(tlsCluster, wrongAuthority + "verify-ca\n", "127.0.0.1", port, appLogin()));
        assertNotNull(open(tlsCluster, wrongAuthority + "require\n", "127.0.0.1", port, appLogin()).getNow()
                .tlsSession(), "require encrypts without checking the certificate, as pgjdbc does");
        String rightAuthority = "jdbc:\n  sslrootcert: " + authority.certificate() + "\n  sslmode: ";
        assertRefused("08001", "TLS with primary localhost:" + port + " failed (jdbc.sslmode is verify-full): No name "
                + "matching localhost found", open(tlsCluster, rightAuthority + "verify-full\n",
                        "localhost", port, appLogin()));
        assertNotNull(open(tlsCluster, rightAuthority + "verify-ca\n", "localhost", port, appLogin()).getNow()
                .tlsSession(), "verify-ca checks the signature, not the name");
    }

    @Test
    void allowRetriesOverTlsWhenTheServerWantsIt() throws Exception {
        int port = tlsCluster.primary().port();
        Credentials tlsOnly = Credentials.password("tls-secret");
        BackendConnection allowed = open(tlsCluster, "jdbc:\n  sslmode: allow\n", "127.0.0.1", port, TLS_ONLY,
                tlsOnly).getNow();
        assertNotNull(allowed.tlsSession(), "hostnossl rejected the clear-text login, so allow tried TLS");
        allowed.close();
        BackendLoginException refused = assertRefused("28000", "", open(tlsCluster, "jdbc:\n  sslmode: disable\n",
                "127.0.0.1", port, TLS_ONLY, tlsOnly));
        assertTrue(refused.getMessage().contains("no encryption"), refused.getMessage());
        BackendConnection clear = open(tlsCluster, "jdbc:\n  sslmode: allow\n", "127.0.0.1", port, appLogin())
                .getNow();
        assertNull(clear.tlsSession(), "allow stays in clear where the server lets it");
        clear.close();
    }

    @Test
    void aServerThatDeclinesTlsIsRefusedOnlyWhenTlsIsRequired() throws Exception {
        int port = plainCluster.primary().port();
        assertRefused("08001", "primary 127.0.0.1:" + port + " does not accept TLS connections, and jdbc.sslmode is "
                + "require", open(plainCluster, "jdbc:\n  sslmode: require\n", "127.0.0.1", port, appLogin()));
        BackendConnection preferred = open(plainCluster, "jdbc:\n  sslmode: prefer\n", "127.0.0.1", port, appLogin())
                .getNow();
        assertNull(preferred.tlsSession(), "prefer goes on in clear");
        preferred.close();
        assertRefused("08004", "jdbc.channelBinding is require, but the server did not offer SCRAM-SHA-256-PLUS (the "
                + "connection is not encrypted)", open(plainCluster, "jdbc:\n  channelBinding: require\n",
                        "127.0.0.1", port, appLogin()));
        assertRefused("08004", "jdbc.channelBinding is require, but the server let the proxy in without any password",
                open(tlsCluster, verifyFull(), "127.0.0.1", tlsCluster.primary().port(),
                        LocalPostgresCluster.SUPERUSER, Credentials.password(null)));
    }

    @Test
    void requireAuthRefusesAServerThatAsksForAnotherLoginMethod() throws Exception {
        int port = plainCluster.primary().port();
        assertRefused("08004", "the server wants the login method scram-sha-256, which jdbc.requireAuth (md5) rules "
                + "out", open(plainCluster, "jdbc:\n  requireAuth: md5\n", "127.0.0.1", port, appLogin()));
        open(plainCluster, "jdbc:\n  requireAuth: scram-sha-256\n", "127.0.0.1", port, appLogin()).getNow().close();
        assertRefused("08004", "the server wants the login method none, which jdbc.requireAuth (!none) rules out",
                open(plainCluster, "jdbc:\n  requireAuth: '!none'\n", "127.0.0.1", port,
                        LocalPostgresCluster.SUPERUSER, Credentials.password(null)));
    }

    private static BackendLoginException assertRefused(String sqlState, String messageStart,
            Future<BackendConnection> attempt) {
        assertTrue(!attempt.isSuccess(), "refused");
        BackendLoginException e = assertInstanceOf(BackendLoginException.class, attempt.cause());
        assertEquals(sqlState, e.sqlState(), e.getMessage());
        assertTrue(e.getMessage().startsWith(messageStart), e.getMessage());
        return e;
    }

    private static Credentials appLogin() {
        return Credentials.password(LocalPostgresCluster.APP_PASSWORD);
    }

    private Future<BackendConnection> open(LocalPostgresCluster cluster, String jdbcSection, String host, int port,
            Credentials credentials) throws InterruptedException {
        return open(cluster, jdbcSection, host, port, LocalPostgresCluster.APP_USER, credentials);
    }

    /** One server connection as the proxy makes it, settled (logged in or refused). */
    private Future<BackendConnection> open(LocalPostgresCluster cluster, String jdbcSection, String host, int port,
            String user, Credentials credentials) throws InterruptedException {
        ServerSecurity security = ServerSecurity.of(ProxyFixture.config(cluster, jdbcSection));
        Backend backend = new Backend(HostSpec.of(host, port), Backend.Role.PRIMARY);
        Future<BackendConnection> attempt = BackendConnection.open(loops.next(), backend,
                Map.of("user", user, "database", LocalPostgresCluster.APP_DATABASE), credentials, security, 10_000);
        assertTrue(attempt.await(20, TimeUnit.SECONDS), "settled");
        return attempt;
    }
}
