package io.replicant.router;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

class SettingStatementsTest {
    @Test
    void keepsTheLastStatementPerParameterInTheOrderTheyLastRan() {
        assertEquals(List.of("SET b = 2", "RESET a", "SET SESSION c TO 4"), SettingStatements.compact(List.of(
                "SET a = 1", "SET b = 2", "set A = 3", "RESET a", "SET SESSION c TO 4")));
    }

    @Test
    void startsFromTheLastResetAll() {
        assertEquals(List.of("RESET ALL; SET TimeZone = 'UTC'", "SET b = 2"), SettingStatements.compact(List.of(
                "SET a = 1", "RESET ALL", "SET c = 3", "RESET ALL; SET TimeZone = 'UTC'", "SET b = 2")));
    }

    @Test
    void keepsWhatItCannotNameInOrder() {
        List<String> log = List.of("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", "/* x */ SET a = 1",
                "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE");
        assertEquals(log, SettingStatements.compact(log));
    }
}
