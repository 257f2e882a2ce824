package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.config.ConfigException;
import io.replicant.config.YamlConfigLoader;
import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresClusterExtension;
import io.replicant.testkit.TestCertificates;

/**
 * TLS between clients and the proxy (a certificate made for the test), md5 client logins, and roles from
 * proxy.auth_query and proxy.auth_file.
 */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxySecurityIT {
    private LocalPostgresCluster cluster;
    private Path cert;
    private Path key;

    @BeforeAll
    void certificate(LocalPostgresCluster cluster, @TempDir Path dir) {
        this.cluster = cluster;
        TestCertificates.Issued issued = TestCertificates.authority(dir, "test-ca").issue("proxy", "127.0.0.1",
                "IP:127.0.0.1");
        cert = issued.certificate();
        key = issued.key();
    }

    private String tls(boolean required) {
        return "  tls:\n    cert: " + cert + "\n    key: " + key + "\n    required: " + required + "\n";
    }

    private static Connection connect(ReplicantProxy proxy, String sslmode) throws SQLException {
        Properties p = ProxyFixture.credentials();
        p.setProperty("sslmode", sslmode);
        return DriverManager.getConnection(ProxyFixture.url(proxy), p);
    }

    @Test
    void clientsThatAskForTlsGetItAndScramRunsInside(@TempDir Path dir) throws Exception {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, tls(false))) {
            String out = ProxyFixture.runOn(proxy, "sslmode=require dbname=" + LocalPostgresCluster.APP_DATABASE, dir,
                    "psql", "-X", "-c", "\\conninfo", "-c", "SELECT 'through tls' AS answer");
            assertTrue(out.contains("SSL connection (protocol: TLS"), out);
            assertTrue(out.contains("through tls"), out);
            try (Connection c = connect(proxy, "require"); Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT 7")) {
                assertTrue(rs.next());
                assertEquals(7, rs.getInt(1));
            }
            // SCRAM-SHA-256-PLUS: clients that insist on binding the login to the proxy's certificate get in
            String bound = ProxyFixture.runOn(proxy, "sslmode=require channel_binding=require dbname="
                    + LocalPostgresCluster.APP_DATABASE, dir, "psql", "-X", "-c", "SELECT 'bound login' AS answer");
            assertTrue(bound.contains("bound login"), bound);
            Properties binding = ProxyFixture.credentials();
            binding.setProperty("sslmode", "require");
            binding.setProperty("channelBinding", "require");
            try (Connection c = DriverManager.getConnection(ProxyFixture.url(proxy), binding)) {
                assertTrue(c.isValid(2));
            }
            try (Connection plain = connect(proxy, "disable"); Statement s = plain.createStatement();
                    ResultSet rs = s.executeQuery("SELECT 8")) {
                assertTrue(rs.next(), "TLS is offered, not forced");
            }
            try (Connection admin = ProxyFixture.admin(proxy); Statement s = admin.createStatement();
                    ResultSet rs = s.executeQuery("SHOW CLIENTS")) {
                assertTrue(rs.next());
                assertTrue(rs.getString("tls").startsWith("TLSv1.3/TLS_"), "pgjdbc prefers TLS when offered: "
                        + rs.getString("tls"));
            }
        }
    }

    @Test
    void tlsRequiredRefusesClearTextClientsWith28000() throws Exception {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, tls(true))) {
            SQLException refused = assertThrows(SQLException.class, () -> connect(proxy, "disable"));
            assertEquals("28000", refused.getSQLState(), refused.getMessage());
            try (Connection c = connect(proxy, "require")) {
                assertTrue(c.isValid(2));
            }
        }
    }

    @Test
    void withoutACertificateTlsIsDeclinedCleanly() throws Exception {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, "")) {
            SQLException e = assertThrows(SQLException.class, () -> connect(proxy, "require"));
            assertEquals("08004", e.getSQLState(), "pgjdbc: the server does not support SSL; " + e.getMessage());
            try (Connection c = connect(proxy, "prefer")) {
                assertTrue(c.isValid(2), "sslmode=prefer goes on in clear");
            }
        }
    }

    @Test
    void md5LoginsWhereConfigured() throws Exception {
        try (ReplicantProxy proxy = ProxyFixture.start(cluster, "  auth: md5\n")) {
            try (Connection c = connect(proxy, "disable")) {
                assertTrue(c.isValid(2));
            }
            Properties wrong = ProxyFixture.credentials();
            wrong.setProperty("password", "not-the-password");
            SQLException e = assertThrows(SQLException.class,
                    () -> DriverManager.getConnection(ProxyFixture.url(proxy), wrong));
            assertEquals("28P01", e.getSQLState(), e.getMessage());
        }
    }

    @Test
    void rolesFromAnAuthQueryLogInAsThemselvesOnEveryServer() throws Exception {
        try (Connection su = cluster.primary().connect(LocalPostgresCluster.APP_DATABASE);
                Statement s = su.createStatement()) {
            s.execute("DROP ROLE IF EXISTS px_alice");
            s.execute("CREATE ROLE px_alice LOGIN PASSWORD 'alice-secret'"); // stored as a SCRAM verifier
            s.execute("CREATE OR REPLACE FUNCTION public.px_lookup(role text) RETURNS TABLE (usename name, passwd text)"
                    + " LANGUAGE sql SECURITY DEFINER AS $$ SELECT usename, passwd FROM pg_shadow WHERE usename = role $$");
            s.execute("REVOKE ALL ON FUNCTION public.px_lookup(text) FROM PUBLIC");
            s.execute("GRANT EXECUTE ON FUNCTION public.px_lookup(text) TO " + LocalPostgresCluster.APP_USER);
        }
        cluster.awaitReplay();
        try (ReplicantProxy proxy = ProxyFixture.start(cluster,
                "  auth_query: SELECT usename, passwd FROM public.px_lookup($1)\n")) {
            Properties alice = new Properties();
            alice.setProperty("user", "px_alice");
            alice.setProperty("password", "alice-secret");
            try (Connection c = DriverManager.getConnection(ProxyFixture.url(proxy), alice);
                    Statement s = c.createStatement()) {
                for (String sql : new String[] {"SELECT current_user, pg_is_in_recovery()",
                        "/* replicant:route=primary */ SELECT current_user, pg_is_in_recovery()"}) {
                    try (ResultSet rs = s.executeQuery(sql)) {
                        assertTrue(rs.next());
                        assertEquals("px_alice", rs.getString(1), "the server sees the client's own role: " + sql);
                    }
                }
            }
            try (Connection app = DriverManager.getConnection(ProxyFixture.url(proxy), ProxyFixture.credentials())) {
                assertTrue(app.isValid(2), "the configured user is looked up like any role");
            }
            for (String[] login : new String[][] {{"px_alice", "wrong"}, {"px_nobody", "whatever"}}) {
                Properties p = new Properties();
                p.setProperty("user", login[0]);
                p.setProperty("password", login[1]);
                SQLException e = assertThrows(SQLException.class,
                        () -> DriverManager.getConnection(ProxyFixture.url(proxy), p));
                assertEquals("28P01", e.getSQLState(), "a wrong password and a missing role look alike");
            }
        }
    }

    @Test
    void aReloadServesARenewedCertificateAndKeepsTheOldOneWhenTheNewFilesAreBad(@TempDir Path dir) throws Exception {
        TestCertificates authority = TestCertificates.authority(dir, "reload-ca");
        TestCertificates.Issued first = authority.issue("first", "proxy-first", "IP:127.0.0.1");
        TestCertificates.Issued renewed = authority.issue("renewed", "proxy-renewed", "IP:127.0.0.1");
        Path servedCert = dir.resolve("served.crt");
        Path servedKey = dir.resolve("served.key");
        Files.copy(first.certificate(), servedCert);
        Files.copy(first.key(), servedKey);
        Path yaml = dir.resolve("replicant.yaml");
        Files.writeString(yaml, ProxyFixture.yaml(cluster, "  tls:\n    cert: " + servedCert + "\n    key: " + servedKey
                + "\n"));
        try (ReplicantProxy proxy = ReplicantProxy.start(() -> YamlConfigLoader.load(yaml).build(),
                new SimpleMeterRegistry()); Connection before = connect(proxy, "require")) {
            assertTrue(servedSubject(proxy, dir).contains("CN = proxy-first"));

            Files.copy(renewed.certificate(), servedCert, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(renewed.key(), servedKey, StandardCopyOption.REPLACE_EXISTING);
            proxy.context().reload();
            assertTrue(servedSubject(proxy, dir).contains("CN = proxy-renewed"), "new connections get the renewal");
            assertTrue(before.isValid(2), "a client connected before keeps its session");

            Files.writeString(servedKey, "not a key");
            ConfigException bad = assertThrows(ConfigException.class, () -> proxy.context().reload());
            assertTrue(bad.getMessage().startsWith("proxy.tls.cert: cannot load the certificate"), bad.getMessage());
            assertTrue(servedSubject(proxy, dir).contains("CN = proxy-renewed"), "the loaded certificate stays");
            try (Connection after = connect(proxy, "require")) {
                assertTrue(after.isValid(2));
            }
        }
    }

    /** The subject of the certificate the proxy presents, as openssl's client sees it after PostgreSQL's SSLRequest. */
    private static String servedSubject(ReplicantProxy proxy, Path dir) throws Exception {
        Path out = dir.resolve("s_client.out");
        Process p = new ProcessBuilder("openssl", "s_client", "-starttls", "postgres", "-connect",
                "127.0.0.1:" + proxy.address().getPort()).redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "openssl s_client finished");
        String text = Files.readString(out);
        return text.lines().filter(l -> l.startsWith("subject=")).findFirst().orElse(text);
    }

    @Test
    void rolesFromAnAuthFileLogInAsThemselvesAndAReloadRereadsIt(@TempDir Path dir) throws Exception {
        String verifier;
        try (Connection su = cluster.primary().connect(LocalPostgresCluster.APP_DATABASE);
                Statement s = su.createStatement()) {
            for (String role : new String[] {"px_bob", "px_dave"}) {
                s.execute("DROP ROLE IF EXISTS " + role);
                s.execute("CREATE ROLE " + role + " LOGIN PASSWORD '" + role.substring(3) + "-secret'");
            }
            try (ResultSet rs = s.executeQuery("SELECT rolpassword FROM pg_authid WHERE rolname = 'px_bob'")) {
                rs.next();
                verifier = rs.getString(1);
            }
        }
        cluster.awaitReplay();
        Path users = dir.resolve("userlist.txt");
        Files.writeString(users, "; PgBouncer's format\n\"px_bob\" \"" + verifier + "\"\n\"px_dave\" \"dave-secret\"\n");
        Path yaml = dir.resolve("replicant.yaml");
        Files.writeString(yaml, ProxyFixture.yaml(cluster, "  auth_file: " + users + "\n"));
        try (ReplicantProxy proxy = ReplicantProxy.start(() -> YamlConfigLoader.load(yaml).build(),
                new SimpleMeterRegistry())) {
            // bob: the file holds his SCRAM verifier; dave: a plain password
            for (String role : new String[] {"px_bob", "px_dave"}) {
                try (Connection c = login(proxy, role, role.substring(3) + "-secret"); Statement s = c.createStatement()) {
                    for (String sql : new String[] {"SELECT current_user", "/* replicant:route=primary */ SELECT current_user"}) {
                        try (ResultSet rs = s.executeQuery(sql)) {
                            assertTrue(rs.next());
                            assertEquals(role, rs.getString(1), "the server sees the client's own role: " + sql);
                        }
                    }
                }
            }
            try (Connection app = DriverManager.getConnection(ProxyFixture.url(proxy), ProxyFixture.credentials())) {
                assertTrue(app.isValid(2), "the configured user still logs in with the configured password");
            }
            for (String[] attempt : new String[][] {{"px_bob", "wrong"}, {"px_alice", "alice-secret"}}) {
                SQLException e = assertThrows(SQLException.class, () -> login(proxy, attempt[0], attempt[1]).close());
                assertEquals("28P01", e.getSQLState(), "a wrong password and an unlisted role look alike");
            }

            Files.writeString(users, "\"px_bob\" \"" + verifier + "\"\n");
            proxy.context().reload();
            assertEquals("28P01", assertThrows(SQLException.class,
                    () -> login(proxy, "px_dave", "dave-secret").close()).getSQLState(), "RELOAD rereads the file");
            Files.writeString(users, "\"px_bob\" unquoted\n");
            ConfigException bad = assertThrows(ConfigException.class, () -> proxy.context().reload());
            assertTrue(bad.getMessage().startsWith("proxy.auth_file: line 1 of " + users), bad.getMessage());
            try (Connection c = login(proxy, "px_bob", "bob-secret")) {
                assertTrue(c.isValid(2), "a bad file is refused and the one read before stays");
            }
        }
    }

    private static Connection login(ReplicantProxy proxy, String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        return DriverManager.getConnection(ProxyFixture.url(proxy), p);
    }

    @Test
    void aKeyWithoutACertificateIsAConfigError() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ProxyFixture.start(cluster, "  tls:\n    key: " + key + "\n"));
        assertTrue(e.getMessage().contains("proxy.tls.cert"), e.getMessage());
    }
}
