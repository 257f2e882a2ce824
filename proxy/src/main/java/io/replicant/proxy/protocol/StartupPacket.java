package io.replicant.proxy.protocol;

import java.util.Map;

/**
 * What a client sends before the typed messages start: no type byte, a length and a code.
 *
 * <pre>
 * +-----------------+----------------+---------------------------------------------+
 * | length (Int32)  | code (Int32)   | StartupMessage: name\0value\0 ... \0        |
 * |                 |                | CancelRequest: process id, secret key       |
 * +-----------------+----------------+---------------------------------------------+
 * </pre>
 */
public sealed interface StartupPacket {
    int PROTOCOL_3_0 = 196608;
    int SSL_REQUEST = 80877103;
    int GSSENC_REQUEST = 80877104;
    int CANCEL_REQUEST = 80877102;

    /** Protocol 3.0 startup: user, database, application_name, options, … */
    record StartupMessage(Map<String, String> parameters) implements StartupPacket {
    }

    record SslRequest() implements StartupPacket {
    }

    record GssEncRequest() implements StartupPacket {
    }

    record CancelRequest(int processId, int secretKey) implements StartupPacket {
    }
}
