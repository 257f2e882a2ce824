package io.replicant.proxy.session;

import java.util.HashMap;
import java.util.Map;

import io.netty.buffer.ByteBufAllocator;
import io.replicant.proxy.backend.BackendConnection;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.Messages;
import io.replicant.router.Classification;
import io.replicant.router.SessionEffect;

/**
 * The client's prepared statements, as the client sees them (name → its Parse message), so a statement
 * parsed on one server can be parsed again, transparently, on another server the session routes it to.
 * Each {@link BackendConnection} records which names exist there; the answers to the proxy's own Parse and
 * Close messages are swallowed (they are identical to the client's own, so counting them is enough).
 */
final class PreparedStatements {
    private final Map<String, Frame> parses = new HashMap<>();
    /** Answers the client did not ask for, to drop from the current exchange. */
    int unansweredParses;
    int unansweredCloses;

    /** Records the client's Parse (the registry keeps its own reference). */
    void parsed(String name, Frame parse) {
        Frame old = parses.put(name, parse.retain());
        if (old != null) {
            old.release();
        }
    }

    void closed(String name) {
        Frame old = parses.remove(name);
        if (old != null) {
            old.release();
        }
    }

    String sql(String name) {
        Frame parse = parses.get(name);
        return parse == null ? null : Messages.parseNameAndSql(parse)[1];
    }

    /** Before the client's Parse of {@code name} runs on {@code server}: an older statement of that name goes first. */
    void beforeParse(BackendConnection server, String name, ByteBufAllocator alloc) {
        if (!name.isEmpty() && server.prepared().containsKey(name)) {
            server.send(Messages.closeStatement(alloc, name));
            unansweredCloses++;
        }
    }

    /** Before a Bind or Describe of {@code name} on {@code server}: parses it there if the server lacks it. */
    void ensurePrepared(BackendConnection server, String name) {
        Frame parse = parses.get(name);
        if (parse == null) {
            return; // unknown to the proxy: the server answers with its own error
        }
        String signature = Messages.parseSignature(parse);
        if (signature.equals(server.prepared().get(name))) {
            return;
        }
        beforeParse(server, name, parse.bytes().alloc());
        server.forward(parse);
        server.prepared().put(name, signature);
        unansweredParses++;
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
                    closed(name);
                });
            }
        }
    }

    /** At ReadyForQuery: after an error the server skipped the rest, so nothing more is coming. */
    void exchangeEnded() {
        unansweredParses = 0;
        unansweredCloses = 0;
    }

    void releaseAll() {
        parses.values().forEach(Frame::release);
        parses.clear();
    }
}
