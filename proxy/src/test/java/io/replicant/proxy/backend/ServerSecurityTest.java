package io.replicant.proxy.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.replicant.config.ConfigException;
import io.replicant.config.YamlConfigLoader;
import io.replicant.testkit.TestCertificates;

/** How the jdbc: section's security properties apply to the proxy's server connections, and what it refuses. */
class ServerSecurityTest {
    private static ServerSecurity of(String jdbcSection) {
        return ServerSecurity.of(YamlConfigLoader.parse("replicant.yaml", "hosts: [a]\njdbc:\n" + jdbcSection, Map.of())
                .build());
    }

    private static String refusal(String jdbcSection) {
        return assertThrows(ConfigException.class, () -> of(jdbcSection)).getMessage();
    }

    @Test
    void modesFollowPgjdbc() {
        ServerSecurity byDefault = ServerSecurity.of(YamlConfigLoader.parse("replicant.yaml", "hosts: [a]\n",
                Map.of()).build());
        assertEquals("prefer", byDefault.sslmode());
        assertTrue(byDefault.asksFirst());
        assertFalse(byDefault.required());
        assertEquals(ServerSecurity.ChannelBinding.PREFER, byDefault.channelBinding());
        ServerSecurity disabled = of("  sslmode: disable\n  channelBinding: disable\n");
        assertFalse(disabled.asksFirst());
        assertEquals(ServerSecurity.ChannelBinding.DISABLE, disabled.channelBinding());
        ServerSecurity allow = of("  sslmode: allow\n");
        assertFalse(allow.asksFirst(), "allow tries clear text first");
        assertTrue(allow.retriesWithTls());
        assertTrue(of("  sslmode: require\n").required());
    }

    @Test
    void requireAuthRulesOutLoginMethodsBeforeAnythingIsSent() throws BackendLoginException {
        ServerSecurity scramOnly = of("  requireAuth: scram-sha-256\n");
        scramOnly.checkLoginMethod("scram-sha-256");
        assertEquals("the server wants the login method md5, which jdbc.requireAuth (scram-sha-256) rules out",
                assertThrows(BackendLoginException.class, () -> scramOnly.checkLoginMethod("md5")).getMessage());
        ServerSecurity noCleartext = of("  requireAuth: '!password, !none'\n");
        noCleartext.checkLoginMethod("md5");
        assertThrows(BackendLoginException.class, () -> noCleartext.checkLoginMethod("password"));
        assertThrows(BackendLoginException.class, () -> noCleartext.checkLoginMethod("none"));
    }

    @Test
    void sslTrueMeansVerifyFullAsInPgjdbc(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.authority(dir, "ca");
        ServerSecurity tls = of("  ssl: 'true'\n  sslrootcert: " + ca.certificate() + "\n");
        assertEquals("verify-full", tls.sslmode());
        assertTrue(tls.required());
    }

    @Test
    void clientKeysInPgjdbcsFormatsLoad(@TempDir Path dir) {
        TestCertificates ca = TestCertificates.authority(dir, "ca");
        TestCertificates.Issued client = ca.issue("client", "proxy", null);
        String cert = "  sslmode: require\n  sslcert: " + client.certificate() + "\n";
        of(cert + "  sslkey: " + ca.derKey(client, null) + "\n");
        Path encrypted = ca.derKey(client, "s3cret");
        of(cert + "  sslkey: " + encrypted + "\n  sslpassword: s3cret\n");
        assertTrue(refusal(cert + "  sslkey: " + encrypted + "\n  sslpassword: wrong\n")
                .startsWith("jdbc.sslkey: cannot read " + encrypted + " as a DER PKCS-8 private key"));
        assertTrue(refusal(cert + "  sslkey: " + client.key() + "\n").startsWith("jdbc.sslkey: cannot read "
                + client.key() + " as a DER PKCS-8 private key (openssl pkcs8 -topk8 -outform DER"), "a PEM key");
    }

    @Test
    void whatTheProxyCannotHonourIsRefusedNamingTheProperty(@TempDir Path dir) throws Exception {
        assertTrue(refusal("  sslfactory: org.postgresql.ssl.NonValidatingFactory\n")
                .startsWith("jdbc.sslfactory: the proxy makes its own TLS connections"));
        assertTrue(refusal("  sslNegotiation: direct\n").startsWith("jdbc.sslNegotiation: direct: "));
        assertTrue(refusal("  gssEncMode: require\n").startsWith("jdbc.gssEncMode: require: "));
        Path missing = dir.resolve("missing.crt");
        assertEquals("jdbc.sslrootcert: cannot read " + missing + " (replicant.yaml)",
                refusal("  sslmode: verify-ca\n  sslrootcert: " + missing + "\n"));
        Path garbage = Files.writeString(dir.resolve("garbage.crt"), "not a certificate");
        assertTrue(refusal("  sslmode: verify-full\n  sslrootcert: " + garbage + "\n")
                .startsWith("jdbc.sslrootcert: cannot read " + garbage + " as X.509 certificates"));
        assertEquals("jdbc.requireAuth: expected methods from password, md5, gss, sspi, scram-sha-256, none, all "
                + "with '!' or none, got 'md5,!password' (replicant.yaml)", refusal("  requireAuth: md5,!password\n"));
        assertTrue(refusal("  requireAuth: kerberos\n").startsWith("jdbc.requireAuth: expected methods"));
        assertTrue(refusal("  sslcert: " + garbage + "\n").startsWith("jdbc.sslkey: missing: a client certificate "
                + "needs both sslcert and sslkey"));
    }
}
