package io.replicant.testkit;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostgresBinariesTest {

    @Test
    void missingBinariesFailWithInstallInstructions(@TempDir Path empty) {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> PostgresBinaries.locate("no-such-pg_config", empty));
        assertTrue(e.getMessage().contains("apt-get install -y postgresql-15"), e.getMessage());
    }

    @Test
    void findsThisMachinesServer() {
        assertTrue(PostgresBinaries.locate().path("initdb").endsWith("/initdb"));
    }
}
