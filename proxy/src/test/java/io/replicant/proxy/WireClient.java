package io.replicant.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.replicant.testkit.LocalPostgresCluster;

/**
 * A client that writes protocol messages one by one, for message sequences no driver sends on demand (a Flush
 * in the middle of a batch). Logs in with trust authentication.
 */
final class WireClient implements AutoCloseable {
    /** One backend message: its type and body. */
    record Message(char type, byte[] body) {
        /** The SQLSTATE of an ErrorResponse. */
        String sqlState() {
            return field('C');
        }

        String field(char code) {
            int i = 0;
            while (i < body.length && body[i] != 0) {
                int end = i + 1;
                while (body[end] != 0) {
                    end++;
                }
                if (body[i] == code) {
                    return new String(body, i + 1, end - i - 1, StandardCharsets.UTF_8);
                }
                i = end + 1;
            }
            return null;
        }

        /** The text of the first column of a DataRow. */
        String firstColumn() {
            int length = ((body[2] & 0xff) << 24) | ((body[3] & 0xff) << 16) | ((body[4] & 0xff) << 8) | (body[5] & 0xff);
            return new String(body, 6, length, StandardCharsets.UTF_8);
        }
    }

    private final Socket socket;
    private final DataOutputStream out;
    private final DataInputStream in;
    private final List<Message> login;

    WireClient(ReplicantProxy proxy) throws IOException {
        this(proxy.address().getPort(), LocalPostgresCluster.APP_USER);
    }

    /** Logs in to whatever listens on {@code port} on the loopback (the proxy, or a server) as {@code user}. */
    WireClient(int port, String user) throws IOException {
        this(port, user, Map.of());
    }

    /** The same, with more startup parameters (TimeZone, application_name, …). */
    WireClient(int port, String user, Map<String, String> parameters) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
        socket.setSoTimeout(10_000);
        socket.setTcpNoDelay(true);
        out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream())); // sent at Sync, Flush, Query
        in = new DataInputStream(socket.getInputStream());
        ByteArrayOutputStream startup = new ByteArrayOutputStream();
        DataOutputStream body = new DataOutputStream(startup);
        body.writeInt(196608);
        cString(body, "user");
        cString(body, user);
        cString(body, "database");
        cString(body, LocalPostgresCluster.APP_DATABASE);
        for (Map.Entry<String, String> parameter : parameters.entrySet()) {
            cString(body, parameter.getKey());
            cString(body, parameter.getValue());
        }
        body.writeByte(0);
        out.writeInt(startup.size() + 4);
        out.write(startup.toByteArray());
        out.flush();
        login = readUntil('Z');
    }

    /** The answer to the login, up to ReadyForQuery. */
    List<Message> login() {
        return login;
    }

    /** The ParameterStatus values among {@code messages}, in order (a later value of a name replaces an earlier). */
    static Map<String, String> parameterStatus(List<Message> messages) {
        Map<String, String> reported = new LinkedHashMap<>();
        for (Message m : messages) {
            if (m.type() == 'S') {
                String[] nameAndValue = new String(m.body(), StandardCharsets.UTF_8).split("\0", -1);
                reported.put(nameAndValue[0], nameAndValue[1]);
            }
        }
        return reported;
    }

    /** A simple Query. */
    WireClient query(String sql) throws IOException {
        send('Q', body -> cString(body, sql));
        out.flush();
        return this;
    }

    WireClient parse(String name, String sql) throws IOException {
        return send('P', body -> {
            cString(body, name);
            cString(body, sql);
            body.writeShort(0);
        });
    }

    /** Binds the statement to the unnamed portal, no parameters, text results. */
    WireClient bind(String statement) throws IOException {
        return send('B', body -> {
            cString(body, "");
            cString(body, statement);
            body.writeShort(0);
            body.writeShort(0);
            body.writeShort(0);
        });
    }

    /** Binds {@code statement} to {@code portal} with text parameters (null for SQL NULL), text results. */
    WireClient bind(String portal, String statement, List<String> parameters) throws IOException {
        return send('B', body -> {
            cString(body, portal);
            cString(body, statement);
            body.writeShort(0);
            body.writeShort(parameters.size());
            for (String value : parameters) {
                if (value == null) {
                    body.writeInt(-1);
                } else {
                    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
                    body.writeInt(bytes.length);
                    body.write(bytes);
                }
            }
            body.writeShort(0);
        });
    }

    /** Describe or Close ({@code type} 'D' or 'C') of a statement ({@code kind} 'S') or portal ('P'). */
    WireClient describeOrClose(char type, char kind, String name) throws IOException {
        return send(type, body -> {
            body.writeByte(kind);
            cString(body, name);
        });
    }

    WireClient execute(String portal, int maxRows) throws IOException {
        return send('E', body -> {
            cString(body, portal);
            body.writeInt(maxRows);
        });
    }

    WireClient execute() throws IOException {
        return send('E', body -> {
            cString(body, "");
            body.writeInt(0);
        });
    }

    /** CopyData with one text-format row; sent with CopyDone by {@link #copyDone()}. */
    WireClient copyData(String row) throws IOException {
        return send('d', body -> body.write(row.getBytes(StandardCharsets.UTF_8)));
    }

    WireClient copyDone() throws IOException {
        send('c', body -> { });
        out.flush();
        return this;
    }

    WireClient flush() throws IOException {
        send('H', body -> { });
        out.flush();
        return this;
    }

    WireClient sync() throws IOException {
        send('S', body -> { });
        out.flush();
        return this;
    }

    /** Reads messages up to and including the first of {@code type}. */
    List<Message> readUntil(char type) throws IOException {
        List<Message> messages = new ArrayList<>();
        Message m;
        do {
            char t = (char) in.readUnsignedByte();
            byte[] body = new byte[in.readInt() - 4];
            in.readFully(body);
            m = new Message(t, body);
            messages.add(m);
        } while (m.type() != type);
        return messages;
    }

    /** Reads to ReadyForQuery and returns the first column of the only row. */
    String singleValue() throws IOException {
        List<Message> answer = readUntil('Z');
        List<Message> rows = answer.stream().filter(m -> m.type() == 'D').toList();
        assertEquals(1, rows.size(), "one row in " + describe(answer));
        return rows.get(0).firstColumn();
    }

    static String describe(List<Message> messages) {
        StringBuilder sb = new StringBuilder();
        for (Message m : messages) {
            sb.append(m.type());
            if (m.type() == 'E') {
                sb.append('(').append(m.sqlState()).append(": ").append(m.field('M')).append(')');
            }
            sb.append(' ');
        }
        return sb.toString().trim();
    }

    private interface Body {
        void write(DataOutputStream body) throws IOException;
    }

    private WireClient send(char type, Body writer) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        writer.write(new DataOutputStream(bytes));
        out.writeByte(type);
        out.writeInt(bytes.size() + 4);
        out.write(bytes.toByteArray());
        return this;
    }

    private static void cString(DataOutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.writeByte(0);
    }

    @Override
    public void close() throws IOException {
        send('X', body -> { });
        out.flush();
        socket.close();
    }
}
