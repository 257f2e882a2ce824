package io.replicant.proxy.session;

import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.replicant.config.SqlState;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;

/**
 * Answers the proxy's own statements ({@link ProxyStatement}) on the wire as a server would: a simple Query, or an
 * extended-protocol batch whose statements are all the proxy's own, message by message; after an error the rest
 * of the batch up to Sync is skipped.
 */
final class LocalAnswer {
    /** What a statement gave: the value SHOW shows (null for SET and RESET), or an error. */
    record Outcome(String shown, String sqlState, String error) {
        static final Outcome DONE = new Outcome(null, null, null);

        static Outcome shown(String value) {
            return new Outcome(value, null, null);
        }

        static Outcome failed(String sqlState, String message) {
            return new Outcome(null, sqlState, message);
        }
    }

    private LocalAnswer() {
    }

    /**
     * @param statements the client's prepared statements; this batch's Parse messages are recorded there
     * @param execute runs one statement
     * @param status the transaction status the closing ReadyForQuery reports
     */
    static void answer(Channel client, List<Frame> frames, PreparedStatements statements,
            Function<ProxyStatement, Outcome> execute, char status) {
        ByteBufAllocator alloc = client.alloc();
        Map<String, ProxyStatement> portals = new HashMap<>();
        boolean skipping = false;
        for (Frame frame : frames) {
            byte type = frame.type();
            if (type == MessageType.QUERY) {
                ProxyStatement s = ProxyStatement.of(Messages.querySql(frame));
                Outcome outcome = execute.apply(s);
                if (outcome.error() == null && s.verb() == ProxyStatement.Verb.SHOW) {
                    client.write(Messages.rowDescription(alloc, List.of(s.name())));
                }
                writeResult(client, s, outcome);
            }
            if (type == MessageType.SYNC || type == MessageType.QUERY) {
                client.write(Messages.readyForQuery(alloc, status));
                skipping = false;
                continue;
            }
            if (skipping || type == MessageType.FLUSH) {
                continue;
            }
            switch (type) {
                case MessageType.PARSE:
                    String[] parse = Messages.parseNameAndSql(frame);
                    statements.parsedHere(frame, parse[0], parse[1]);
                    client.write(Messages.parseComplete(alloc));
                    break;
                case MessageType.BIND: {
                    String name = Messages.bindStatement(frame);
                    ProxyStatement s = statement(statements, name);
                    if (s == null) {
                        skipping = !writeResult(client, null, unknown(name));
                        break;
                    }
                    portals.put(Messages.bindPortal(frame), s);
                    client.write(Messages.bindComplete(alloc));
                    break;
                }
                case MessageType.DESCRIBE: {
                    String name = Messages.statementTarget(frame);
                    ProxyStatement s = name != null ? statement(statements, name)
                            : portals.get(Messages.portalTarget(frame));
                    if (s == null) {
                        skipping = !writeResult(client, null, name != null ? unknown(name)
                                : Outcome.failed(SqlState.INVALID_CURSOR_NAME.code(),
                                        "portal \"" + Messages.portalTarget(frame) + "\" does not exist"));
                        break;
                    }
                    if (name != null) {
                        client.write(Messages.noParameters(alloc));
                    }
                    client.write(s.verb() == ProxyStatement.Verb.SHOW
                            ? Messages.rowDescription(alloc, List.of(s.name())) : Messages.noData(alloc));
                    break;
                }
                case MessageType.EXECUTE: {
                    ProxyStatement s = portals.get(Messages.executePortal(frame));
                    skipping = !writeResult(client, s, s == null ? Outcome.failed(SqlState.INVALID_CURSOR_NAME.code(),
                            "portal \"" + Messages.executePortal(frame) + "\" does not exist") : execute.apply(s));
                    break;
                }
                case MessageType.CLOSE:
                    client.write(Messages.closeComplete(alloc));
                    break;
                default:
                    break;
            }
        }
        client.flush();
    }

    /** Writes a statement's result: its row if it shows one, and its CommandComplete; or its error (false). */
    private static boolean writeResult(Channel client, ProxyStatement s, Outcome outcome) {
        ByteBufAllocator alloc = client.alloc();
        if (outcome.error() != null) {
            client.write(Messages.error(alloc, "ERROR", outcome.sqlState(), outcome.error()));
            return false;
        }
        if (s.verb() == ProxyStatement.Verb.SHOW) {
            client.write(Messages.dataRow(alloc, Collections.singletonList(outcome.shown())));
        }
        client.write(Messages.commandComplete(alloc, s.tag()));
        return true;
    }

    private static Outcome unknown(String statement) {
        return Outcome.failed(SqlState.INVALID_SQL_STATEMENT_NAME.code(),
                "prepared statement \"" + statement + "\" does not exist");
    }

    private static ProxyStatement statement(PreparedStatements statements, String name) {
        String sql = statements.sql(name);
        return sql == null ? null : ProxyStatement.of(sql);
    }
}
