package io.replicant.proxy.session;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;

import org.junit.jupiter.api.Test;

class ServerParametersTest {
    private static final Map<String, String> PRIMARY = Map.of("server_version", "15.14", "client_encoding", "UTF8",
            "DateStyle", "ISO, MDY", "TimeZone", "UTC", "application_name", "earlier client");

    @Test
    void theClientsOwnStartupSettingsReplaceTheEarlierLoginsValues() {
        Map<String, String> reported = ServerParameters.forClient(PRIMARY, Map.of("user", "app",
                "datestyle", "ISO, DMY", "TimeZone", "Europe/Paris", "application_name", "psql"));
        assertEquals("ISO, DMY", reported.get("DateStyle"), "names match case-insensitively");
        assertEquals("Europe/Paris", reported.get("TimeZone"));
        assertEquals("psql", reported.get("application_name"));
        assertEquals("15.14", reported.get("server_version"));
        assertEquals(PRIMARY.keySet(), reported.keySet(), "startup parameters that are not reported stay out");
    }

    @Test
    void anotherClientsApplicationNameIsNotReported() {
        assertEquals("", ServerParameters.forClient(PRIMARY, Map.of("user", "app")).get("application_name"));
    }
}
