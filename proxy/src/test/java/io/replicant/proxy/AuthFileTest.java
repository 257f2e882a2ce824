package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.replicant.config.ConfigException;
import io.replicant.config.YamlConfigLoader;

/** proxy.auth_file in PgBouncer's format. */
class AuthFileTest {
    @TempDir
    Path dir;

    private AuthFile load(String content) throws Exception {
        Path file = dir.resolve("userlist.txt");
        Files.writeString(file, content);
        return AuthFile.of(YamlConfigLoader.parse("replicant.yaml", "hosts: [127.0.0.1:5432]\nproxy:\n  auth_file: "
                + file + "\n", Map.of()).build());
    }

    @Test
    void quotedFieldsCommentsAndEscapedQuotes() throws Exception {
        AuthFile file = load("; PgBouncer comment\n# another\n\n  \"alice\" \"SCRAM-SHA-256$4096:c2FsdA==$a:b\"\n"
                + "\"bob\"\t\"md5" + "0123456789abcdef0123456789abcdef\"   trailing words are ignored\n"
                + "\"we\"\"ird\" \"pass \"\"word\"\"\"\n");
        assertEquals("SCRAM-SHA-256$4096:c2FsdA==$a:b", file.secretOf("alice"));
        assertEquals("pass \"word\"", file.secretOf("we\"ird"));
        assertNull(file.secretOf("carol"));
        assertTrue(AuthFile.isVerifier(file.secretOf("alice")));
        assertTrue(AuthFile.isVerifier(file.secretOf("bob")));
        assertFalse(AuthFile.isVerifier(file.secretOf("we\"ird")));
    }

    @Test
    void aBadLineNamesTheOptionAndLineButNotTheSecret() {
        ConfigException e = assertThrows(ConfigException.class, () -> load("\"alice\" \"ok\"\n\"bob\" \"s3cret\n"));
        assertTrue(e.getMessage().startsWith("proxy.auth_file: line 2 of "), e.getMessage());
        assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
        ConfigException missing = assertThrows(ConfigException.class, () -> AuthFile.of(YamlConfigLoader.parse("r.yaml",
                "hosts: [127.0.0.1:5432]\nproxy:\n  auth_file: " + dir.resolve("none.txt") + "\n", Map.of()).build()));
        assertTrue(missing.getMessage().startsWith("proxy.auth_file: cannot read "), missing.getMessage());
    }
}
