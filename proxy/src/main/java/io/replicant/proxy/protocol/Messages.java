package io.replicant.proxy.protocol;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** Builds the messages the proxy writes itself, to clients and to servers. */
public final class Messages {
    /** ErrorResponse / NoticeResponse field codes. */
    public static final byte FIELD_SEVERITY = 'S';
    public static final byte FIELD_SEVERITY_NONLOCALIZED = 'V';
    public static final byte FIELD_CODE = 'C';
    public static final byte FIELD_MESSAGE = 'M';
    private static final int TEXT_OID = 25;

    private Messages() {
    }

    // ---------------------------------------------------------------- to clients

    public static ByteBuf authentication(ByteBufAllocator alloc, int code, byte[] data) {
        ByteBuf buf = start(alloc, MessageType.AUTHENTICATION);
        buf.writeInt(code);
        if (data != null) {
            buf.writeBytes(data);
        }
        return finish(buf);
    }

    public static ByteBuf parameterStatus(ByteBufAllocator alloc, String name, String value) {
        ByteBuf buf = start(alloc, MessageType.PARAMETER_STATUS);
        writeCString(buf, name);
        writeCString(buf, value);
        return finish(buf);
    }

    public static ByteBuf backendKeyData(ByteBufAllocator alloc, int processId, int secretKey) {
        ByteBuf buf = start(alloc, MessageType.BACKEND_KEY_DATA);
        buf.writeInt(processId);
        buf.writeInt(secretKey);
        return finish(buf);
    }

    public static ByteBuf readyForQuery(ByteBufAllocator alloc, char status) {
        ByteBuf buf = start(alloc, MessageType.READY_FOR_QUERY);
        buf.writeByte(status);
        return finish(buf);
    }

    /** An ErrorResponse with severity ({@code ERROR} or {@code FATAL}), SQLSTATE and message. */
    public static ByteBuf error(ByteBufAllocator alloc, String severity, String sqlState, String message) {
        ByteBuf buf = start(alloc, MessageType.ERROR_RESPONSE);
        buf.writeByte(FIELD_SEVERITY);
        writeCString(buf, severity);
        buf.writeByte(FIELD_SEVERITY_NONLOCALIZED);
        writeCString(buf, severity);
        buf.writeByte(FIELD_CODE);
        writeCString(buf, sqlState);
        buf.writeByte(FIELD_MESSAGE);
        writeCString(buf, message);
        buf.writeByte(0);
        return finish(buf);
    }

    /** A RowDescription of text columns (type oid 25, text format). */
    public static ByteBuf rowDescription(ByteBufAllocator alloc, List<String> columns) {
        ByteBuf buf = start(alloc, MessageType.ROW_DESCRIPTION);
        buf.writeShort(columns.size());
        for (String column : columns) {
            writeCString(buf, column);
            buf.writeInt(0); // table oid
            buf.writeShort(0); // column number
            buf.writeInt(TEXT_OID);
            buf.writeShort(-1); // variable length
            buf.writeInt(-1); // no type modifier
            buf.writeShort(0); // text format
        }
        return finish(buf);
    }

    /** A DataRow of text values; a null value is SQL NULL. */
    public static ByteBuf dataRow(ByteBufAllocator alloc, List<String> values) {
        ByteBuf buf = start(alloc, MessageType.DATA_ROW);
        buf.writeShort(values.size());
        for (String value : values) {
            if (value == null) {
                buf.writeInt(-1);
            } else {
                byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
                buf.writeInt(bytes.length);
                buf.writeBytes(bytes);
            }
        }
        return finish(buf);
    }

    public static ByteBuf commandComplete(ByteBufAllocator alloc, String tag) {
        return withText(alloc, MessageType.COMMAND_COMPLETE, tag);
    }

    public static ByteBuf parseComplete(ByteBufAllocator alloc) {
        return finish(start(alloc, MessageType.PARSE_COMPLETE));
    }

    public static ByteBuf bindComplete(ByteBufAllocator alloc) {
        return finish(start(alloc, MessageType.BIND_COMPLETE));
    }

    public static ByteBuf closeComplete(ByteBufAllocator alloc) {
        return finish(start(alloc, MessageType.CLOSE_COMPLETE));
    }

    /** The answer to Describe of something that returns no rows. */
    public static ByteBuf noData(ByteBufAllocator alloc) {
        return finish(start(alloc, MessageType.NO_DATA));
    }

    /** A ParameterDescription of a statement without parameters. */
    public static ByteBuf noParameters(ByteBufAllocator alloc) {
        return finish(start(alloc, MessageType.PARAMETER_DESCRIPTION).writeShort(0));
    }

    /** A NoticeResponse with severity, SQLSTATE and message. */
    public static ByteBuf notice(ByteBufAllocator alloc, String severity, String sqlState, String message) {
        ByteBuf buf = error(alloc, severity, sqlState, message);
        buf.setByte(0, MessageType.NOTICE_RESPONSE);
        return buf;
    }

    // ---------------------------------------------------------------- to servers

    public static ByteBuf startup(ByteBufAllocator alloc, Map<String, String> parameters) {
        ByteBuf buf = alloc.buffer();
        buf.writeInt(0);
        buf.writeInt(StartupPacket.PROTOCOL_3_0);
        parameters.forEach((k, v) -> {
            writeCString(buf, k);
            writeCString(buf, v);
        });
        buf.writeByte(0);
        buf.setInt(0, buf.writerIndex());
        return buf;
    }

    /** A simple Query. */
    public static ByteBuf query(ByteBufAllocator alloc, String sql) {
        return withText(alloc, MessageType.QUERY, sql);
    }

    /** A message whose whole body is one NUL-terminated string. */
    private static ByteBuf withText(ByteBufAllocator alloc, byte type, String text) {
        ByteBuf buf = start(alloc, type);
        writeCString(buf, text);
        return finish(buf);
    }

    public static ByteBuf sync(ByteBufAllocator alloc) {
        return finish(start(alloc, MessageType.SYNC));
    }

    /** SSLRequest: asks the server for TLS before the startup message; it answers with one byte, 'S' or 'N'. */
    public static ByteBuf sslRequest(ByteBufAllocator alloc) {
        return alloc.buffer(8).writeInt(8).writeInt(StartupPacket.SSL_REQUEST);
    }

    /** CancelRequest: sent on a new connection, which the server closes without answering. */
    public static ByteBuf cancelRequest(ByteBufAllocator alloc, int processId, int secretKey) {
        ByteBuf buf = alloc.buffer(16);
        buf.writeInt(16);
        buf.writeInt(StartupPacket.CANCEL_REQUEST);
        buf.writeInt(processId);
        buf.writeInt(secretKey);
        return buf;
    }

    /** PasswordMessage: a cleartext or md5 password. */
    public static ByteBuf password(ByteBufAllocator alloc, String password) {
        return withText(alloc, MessageType.PASSWORD, password);
    }

    /** SASLInitialResponse: mechanism name, then the client-first-message. */
    public static ByteBuf saslInitialResponse(ByteBufAllocator alloc, String mechanism, String clientFirst) {
        ByteBuf buf = start(alloc, MessageType.PASSWORD);
        writeCString(buf, mechanism);
        byte[] data = clientFirst.getBytes(StandardCharsets.UTF_8);
        buf.writeInt(data.length);
        buf.writeBytes(data);
        return finish(buf);
    }

    /** SASLResponse: the client-final-message. */
    public static ByteBuf saslResponse(ByteBufAllocator alloc, String clientFinal) {
        ByteBuf buf = start(alloc, MessageType.PASSWORD);
        buf.writeBytes(clientFinal.getBytes(StandardCharsets.UTF_8));
        return finish(buf);
    }

    public static ByteBuf terminate(ByteBufAllocator alloc) {
        return finish(start(alloc, MessageType.TERMINATE));
    }

    // ---------------------------------------------------------------- reading

    /** The SQL text of a Query message. */
    public static String querySql(Frame query) {
        return Frame.readCString(query.body());
    }

    /**
     * Parse: statement name, query, parameter types.
     *
     * <pre>
     * 'P' | Int32 len | name\0 | query\0 | Int16 n | Int32 type oid × n
     * </pre>
     *
     * @return {statement name, SQL}
     */
    public static String[] parseNameAndSql(Frame parse) {
        ByteBuf body = parse.body();
        return new String[] {Frame.readCString(body), Frame.readCString(body)};
    }

    /**
     * What a Parse defines, apart from its name: the SQL and the parameter types, as one comparable string (two
     * clients may give the same name to different statements on a shared server connection).
     */
    public static String parseSignature(Frame parse) {
        ByteBuf body = parse.body();
        int nameEnd = body.indexOf(body.readerIndex(), body.writerIndex(), (byte) 0);
        return body.toString(nameEnd + 1, body.writerIndex() - nameEnd - 1, StandardCharsets.ISO_8859_1);
    }

    /**
     * The prepared statement a Bind uses.
     *
     * <pre>
     * 'B' | Int32 len | portal\0 | statement\0 | formats, values, result formats …
     * </pre>
     */
    public static String bindStatement(Frame bind) {
        ByteBuf body = bind.body();
        Frame.readCString(body);
        return Frame.readCString(body);
    }

    /** The portal a Bind creates ({@code ""} for the unnamed one). */
    public static String bindPortal(Frame bind) {
        return Frame.readCString(bind.body());
    }

    /**
     * The portal an Execute runs.
     *
     * <pre>
     * 'E' | Int32 len | portal\0 | Int32 max rows
     * </pre>
     */
    public static String executePortal(Frame execute) {
        return Frame.readCString(execute.body());
    }

    /** The portal a Describe or Close names, or null when it names a statement. */
    public static String portalTarget(Frame describeOrClose) {
        ByteBuf body = describeOrClose.body();
        byte target = body.readByte();
        return target == MessageType.TARGET_PORTAL ? Frame.readCString(body) : null;
    }

    /**
     * The statement a Describe or Close names, or null when it names a portal.
     *
     * <pre>
     * 'D' or 'C' | Int32 len | 'S' or 'P' | name\0
     * </pre>
     */
    public static String statementTarget(Frame describeOrClose) {
        ByteBuf body = describeOrClose.body();
        byte target = body.readByte();
        return target == MessageType.TARGET_STATEMENT ? Frame.readCString(body) : null;
    }

    /** Close of a prepared statement. */
    public static ByteBuf closeStatement(ByteBufAllocator alloc, String name) {
        ByteBuf buf = start(alloc, MessageType.CLOSE);
        buf.writeByte(MessageType.TARGET_STATEMENT);
        writeCString(buf, name);
        return finish(buf);
    }

    /** Describe of a portal. */
    public static ByteBuf describePortal(ByteBufAllocator alloc, String name) {
        ByteBuf buf = start(alloc, MessageType.DESCRIBE);
        buf.writeByte(MessageType.TARGET_PORTAL);
        writeCString(buf, name);
        return finish(buf);
    }

    /** Whether a CommandComplete's tag is {@code tag} (ASCII), compared without decoding it: it runs per answer. */
    public static boolean hasCommandTag(Frame commandComplete, String tag) {
        ByteBuf bytes = commandComplete.bytes();
        if (bytes.readableBytes() != 5 + tag.length() + 1) {
            return false;
        }
        int start = bytes.readerIndex() + 5;
        for (int i = 0; i < tag.length(); i++) {
            if (bytes.getByte(start + i) != tag.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The first column of a DataRow, as text, or null when it is NULL.
     *
     * <pre>
     * 'D' | Int32 len | Int16 columns | (Int32 value length, -1 for NULL | value bytes) × columns
     * </pre>
     */
    public static String firstColumn(Frame dataRow) {
        ByteBuf body = dataRow.body();
        if (body.readShort() == 0) {
            return null;
        }
        int length = body.readInt();
        return length < 0 ? null : body.toString(body.readerIndex(), length, StandardCharsets.UTF_8);
    }

    /** The transaction status of a ReadyForQuery message: 'I' idle, 'T' in a transaction, 'E' failed transaction. */
    public static char transactionStatus(Frame readyForQuery) {
        return (char) readyForQuery.body().getByte(0);
    }

    /** A field of an ErrorResponse or NoticeResponse, or null. */
    public static String errorField(Frame error, byte field) {
        ByteBuf body = error.body();
        while (body.isReadable()) {
            byte code = body.readByte();
            if (code == 0) {
                break;
            }
            String value = Frame.readCString(body);
            if (code == field) {
                return value;
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- framing

    private static ByteBuf start(ByteBufAllocator alloc, byte type) {
        ByteBuf buf = alloc.buffer();
        buf.writeByte(type);
        buf.writeInt(0);
        return buf;
    }

    private static ByteBuf finish(ByteBuf buf) {
        buf.setInt(1, buf.writerIndex() - 1);
        return buf;
    }

    static void writeCString(ByteBuf buf, String s) {
        buf.writeCharSequence(s, StandardCharsets.UTF_8);
        buf.writeByte(0);
    }
}
