package io.replicant.proxy.session;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ParameterStatus values a client gets at login when the proxy answers from an earlier primary login
 * instead of logging in again: the primary's values, with the client's own startup settings of reported
 * parameters (application_name, client_encoding, DateStyle, TimeZone, …) in place of the earlier client's.
 */
final class ServerParameters {
    /** What an admin console client is told when no primary login has been seen yet. */
    static final Map<String, String> ADMIN = Map.of("server_version", "15.0", "server_encoding", "UTF8",
            "client_encoding", "UTF8", "DateStyle", "ISO, MDY", "integer_datetimes", "on",
            "standard_conforming_strings", "on", "TimeZone", "UTC", "application_name", "");

    private ServerParameters() {
    }

    static Map<String, String> forClient(Map<String, String> primary, Map<String, String> startup) {
        Map<String, String> reported = new LinkedHashMap<>(primary);
        for (String name : primary.keySet()) {
            for (Map.Entry<String, String> sent : startup.entrySet()) {
                if (sent.getKey().equalsIgnoreCase(name)) { // GUC names are case-insensitive
                    reported.put(name, sent.getValue());
                }
            }
        }
        if (!startup.containsKey("application_name") && reported.containsKey("application_name")) {
            reported.put("application_name", ""); // the earlier client's name is not this one's
        }
        return reported;
    }
}
