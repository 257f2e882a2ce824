package io.replicant.proxy.session;

import java.util.regex.Pattern;

import io.replicant.config.StatementKind;
import io.replicant.proxy.backend.BackendConnection;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.router.Classification;

/**
 * A plain BEGIN sent as a simple query, answered by the proxy and sent to the server only ahead of the transaction's
 * next exchange, in the same write: the server then reads and answers both in one wake-up, one round trip fewer per
 * transaction, and in transaction pooling mode a client holds no server connection before it has something to run.
 * A transaction that ends with a plain COMMIT or ROLLBACK before anything was sent is answered here too. Only plain
 * spellings are held: on an idle server session they cannot fail, so what the client was told stays true.
 */
final class DeferredBegin {
    private static final Pattern PLAIN_BEGIN = Pattern.compile(
            "(?i)\\s*(?:BEGIN(?:\\s+(?:WORK|TRANSACTION))?|START\\s+TRANSACTION)\\s*;?\\s*");
    private static final Pattern PLAIN_COMMIT = Pattern.compile("(?i)\\s*(?:COMMIT|END)(?:\\s+(?:WORK|TRANSACTION))?\\s*;?\\s*");
    private static final Pattern PLAIN_ROLLBACK = Pattern.compile(
            "(?i)\\s*(?:ROLLBACK|ABORT)(?:\\s+(?:WORK|TRANSACTION))?\\s*;?\\s*");

    private Frame held;
    /** The held BEGIN went to the server ahead of an exchange, whose answers follow the BEGIN's. */
    private boolean answerPending;

    static boolean isPlainBegin(Classification c, String sql) {
        return c.kind() == StatementKind.BEGIN && PLAIN_BEGIN.matcher(sql).matches();
    }

    /** The tag PostgreSQL answers a plain COMMIT or ROLLBACK with; null for any other statement. */
    static String plainEndTag(Classification c, String sql) {
        if (c.kind() == StatementKind.COMMIT && PLAIN_COMMIT.matcher(sql).matches()) {
            return "COMMIT";
        }
        if (c.kind() == StatementKind.ROLLBACK && PLAIN_ROLLBACK.matcher(sql).matches()) {
            return "ROLLBACK";
        }
        return null;
    }

    /** Takes ownership of the client's BEGIN. */
    void hold(Frame begin) {
        held = begin;
    }

    boolean held() {
        return held != null;
    }

    /** Sends the held BEGIN to {@code server}, where the exchange that follows it joins its transaction. */
    void sendAhead(BackendConnection server) {
        server.forward(held);
        held.release();
        held = null;
        answerPending = true;
    }

    boolean answerPending() {
        return answerPending;
    }

    /**
     * A server message while {@link #answerPending()}: true if it belongs to the BEGIN's answer (its CommandComplete
     * and ReadyForQuery, which the client had from the proxy), which is then over at the ReadyForQuery.
     */
    boolean isBeginAnswer(Frame frame) {
        if (frame.type() == MessageType.READY_FOR_QUERY) {
            answerPending = false;
            return true;
        }
        return frame.type() == MessageType.COMMAND_COMPLETE;
    }

    /** The transaction ended before its BEGIN was sent, or the session closes. */
    void drop() {
        if (held != null) {
            held.release();
            held = null;
        }
        answerPending = false;
    }
}
