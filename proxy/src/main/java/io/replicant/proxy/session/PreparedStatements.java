package io.replicant.proxy.session;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.netty.buffer.ByteBufAllocator;
import io.replicant.proxy.backend.BackendConnection;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;
import io.replicant.router.Classification;
import io.replicant.router.SessionEffect;

/**
 * The client's prepared statements, as the client sees them (name → its Parse message), so a statement
 * parsed on one server can be parsed again, transparently, on another server the session routes it to.
 * Each {@link BackendConnection} records which names exist there; the answers to the proxy's own Parse and
 * Close messages are swallowed, found by their place among the server's answers.
 * <p>
 * Both records change as Parse and Close messages are sent. After an error the server skips every message up
 * to Sync, so the changes of the messages it skipped (known by counting its answers) are undone: the records
 * then hold what PostgreSQL holds.
 */
final class PreparedStatements {
    /** A client's Parse, with what every Bind needs from it decoded once. */
    private record Parsed(Frame parse, String sql, String signature) {
    }

    /**
     * A change made when message number {@code index} of the exchange was sent, and how to take it back if the
     * server skipped that message ({@code undo}) or failed it ({@code failedUndo}).
     */
    private record Change(int index, Runnable undo, Runnable failedUndo, Parsed replaced) {
    }

    private static final int FAILED = Integer.MAX_VALUE;

    private final Map<String, Parsed> parses = new HashMap<>();
    /** Where (see {@link #sent}) the proxy's own messages are in this exchange: the client never sees their answers. */
    private final ArrayDeque<Integer> own = new ArrayDeque<>();
    /** Messages sent to the server in this exchange that end in exactly one answer (all but Sync and Flush). */
    private int sent;
    /** How many of those the server answered; an error answers the next one, and the rest are skipped. */
    private int answered;
    private final List<Change> changes = new ArrayList<>();

    String sql(String name) {
        Parsed parsed = parses.get(name);
        return parsed == null ? null : parsed.sql();
    }

    /** Sends one extended-protocol message, parsing or closing statements first where the server needs it. */
    void send(BackendConnection server, Frame frame) {
        switch (frame.type()) {
            case MessageType.PARSE:
                String[] parse = Messages.parseNameAndSql(frame);
                parse(server, frame, parse[0], parse[1]);
                break;
            case MessageType.BIND:
                ensurePrepared(server, Messages.bindStatement(frame), server.alloc());
                sent(frame.type());
                break;
            case MessageType.DESCRIBE:
                String described = Messages.statementTarget(frame);
                if (described != null) {
                    ensurePrepared(server, described, server.alloc());
                }
                sent(frame.type());
                break;
            case MessageType.CLOSE:
                String closed = Messages.statementTarget(frame);
                if (closed != null) {
                    close(server, closed);
                } else {
                    sent(frame.type());
                }
                break;
            default:
                sent(frame.type());
                break;
        }
        server.forward(frame);
    }

    /** The client's Parse goes to {@code server} (the registry keeps its own reference). */
    private void parse(BackendConnection server, Frame parse, String name, String sql) {
        beforeParse(server, name, parse.bytes().alloc());
        Parsed parsed = new Parsed(parse.retain(), sql, Messages.parseSignature(parse));
        Parsed replaced = parses.put(name, parsed);
        String serverHad = server.prepared().put(name, parsed.signature());
        Runnable undo = () -> {
            restore(name, replaced);
            restore(server.prepared(), name, serverHad);
        };
        // PostgreSQL drops the unnamed statement before it parses the new one, even if that then fails
        changed(replaced, undo, !name.isEmpty() ? undo : () -> {
            restore(name, null);
            if (replaced != null) {
                replaced.parse().release();
            }
            server.prepared().remove(name);
        });
    }

    /** The client's Parse of a statement of the proxy's own, answered without a server. */
    void parsedHere(Frame parse, String name, String sql) {
        restore(name, new Parsed(parse.retain(), sql, Messages.parseSignature(parse)));
    }

    /** The client's Close of statement {@code name} goes to {@code server}. */
    private void close(BackendConnection server, String name) {
        Parsed replaced = parses.remove(name);
        String serverHad = server.prepared().remove(name);
        Runnable undo = () -> {
            restore(name, replaced);
            restore(server.prepared(), name, serverHad);
        };
        changed(replaced, undo, undo);
    }

    /** Any other message that ends in one answer goes to the server (Bind, Describe, Execute, Close of a portal). */
    void sent(byte type) {
        if (type != MessageType.SYNC && type != MessageType.FLUSH) {
            sent++;
        }
    }

    /** A client's simple query: PostgreSQL drops the unnamed statement first. */
    void simpleQuery() {
        restore("", null);
    }

    /**
     * Before the client's Parse of {@code name} runs on {@code server}. If the client has a statement of that name,
     * the server gets it too, so that it refuses the Parse (42P05) as PostgreSQL would; one that only the server
     * has (another client's, in transaction pooling) goes first.
     */
    private void beforeParse(BackendConnection server, String name, ByteBufAllocator alloc) {
        if (name.isEmpty()) {
            return; // the unnamed statement is replaced
        }
        if (parses.containsKey(name)) {
            ensurePrepared(server, name, alloc);
        } else if (server.prepared().containsKey(name)) {
            closeOwn(server, name, alloc);
        }
    }

    /**
     * Before a Bind or Describe of {@code name} on {@code server}: parses it there if the server lacks it, or
     * closes it there if only the server has it (from before an error or a simple query the proxy saw, or another
     * client's in transaction pooling), so the server answers as PostgreSQL would for the client.
     */
    private void ensurePrepared(BackendConnection server, String name, ByteBufAllocator alloc) {
        Parsed parsed = parses.get(name);
        if (parsed == null) {
            if (server.prepared().containsKey(name)) {
                closeOwn(server, name, alloc);
            }
            return;
        }
        if (parsed.signature().equals(server.prepared().get(name))) {
            return;
        }
        if (server.prepared().containsKey(name)) {
            closeOwn(server, name, alloc); // another client's, or one the proxy's own records no longer match
        }
        server.forward(parsed.parse());
        String serverHad = server.prepared().put(name, parsed.signature());
        own.add(sent);
        Runnable undo = () -> restore(server.prepared(), name, serverHad);
        changed(null, undo, undo);
    }

    private void closeOwn(BackendConnection server, String name, ByteBufAllocator alloc) {
        server.send(Messages.closeStatement(alloc, name));
        String serverHad = server.prepared().remove(name);
        own.add(sent);
        Runnable undo = () -> restore(server.prepared(), name, serverHad);
        changed(null, undo, undo);
    }

    private void changed(Parsed replaced, Runnable undo, Runnable failedUndo) {
        if (answered == FAILED) {
            undo.run(); // sent after the error (a Flush let the client go on): the server skips it
            return;
        }
        changes.add(new Change(sent++, undo, failedUndo, replaced));
    }

    /**
     * The server answered one message (ParseComplete, BindComplete, CommandComplete …).
     *
     * @return true when it answered the proxy's own message: the client must not see it
     */
    boolean answered() {
        boolean proxys = !own.isEmpty() && own.peekFirst() == answered;
        if (proxys) {
            own.removeFirst();
        }
        answered++;
        return proxys;
    }

    /** The server answered with an error: it skipped what came after, up to Sync, so their changes are undone. */
    void failed() {
        for (int i = changes.size() - 1; i >= 0 && changes.get(i).index() >= answered; i--) {
            Change change = changes.remove(i);
            (change.index() == answered ? change.failedUndo() : change.undo()).run();
        }
        answered = FAILED;
        own.clear();
    }

    /** At ReadyForQuery (or when the exchange runs again elsewhere): what was sent stands. */
    void exchangeEnded() {
        for (Change change : changes) {
            if (change.replaced() != null) {
                change.replaced().parse().release();
            }
        }
        changes.clear();
        sent = 0;
        answered = 0;
        own.clear();
    }

    /** Makes {@code before} (null: none) the statement of that name, releasing the one it replaces. */
    private void restore(String name, Parsed before) {
        Parsed current = before == null ? parses.remove(name) : parses.put(name, before);
        if (current != null) {
            current.parse().release();
        }
    }

    private static void restore(Map<String, String> prepared, String name, String before) {
        if (before == null) {
            prepared.remove(name);
        } else {
            prepared.put(name, before);
        }
    }

    /** After a statement succeeded on {@code server}: SQL DEALLOCATE and DISCARD ALL drop statements there too. */
    void afterStatement(Classification c, BackendConnection server) {
        for (SessionEffect effect : c.effects()) {
            boolean all = effect.type() == SessionEffect.Type.DISCARD_ALL
                    || effect.type() == SessionEffect.Type.DEALLOCATE && effect.names().isEmpty();
            if (all) {
                server.prepared().clear();
                releaseAll();
            } else if (effect.type() == SessionEffect.Type.DEALLOCATE) {
                effect.names().forEach(name -> {
                    server.prepared().remove(name);
                    restore(name, null);
                });
            }
        }
    }

    void releaseAll() {
        parses.values().forEach(parsed -> parsed.parse().release());
        parses.clear();
    }
}
