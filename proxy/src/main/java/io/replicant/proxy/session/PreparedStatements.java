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
    /** A client's Parse, with what every Bind needs from it decoded once. */
    private record Parsed(Frame parse, String sql, String signature) {
    }

    private final Map<String, Parsed> parses = new HashMap<>();
    /** Answers the client did not ask for, to drop from the current exchange. */
    int unansweredParses;
    int unansweredCloses;

    /**
     * Records the client's Parse as it goes to a server or is answered (the registry keeps its own reference).
     *
     * @return its signature
     */
    String parsed(Frame parse, String name, String sql) {
        String signature = Messages.parseSignature(parse);
        Parsed old = parses.put(name, new Parsed(parse.retain(), sql, signature));
        if (old != null) {
            old.parse().release();
        }
        return signature;
    }

    void closed(String name) {
        Parsed old = parses.remove(name);
        if (old != null) {
            old.parse().release();
        }
    }

    String sql(String name) {
        Parsed parsed = parses.get(name);
        return parsed == null ? null : parsed.sql();
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
        Parsed parsed = parses.get(name);
        if (parsed == null) {
            return; // unknown to the proxy: the server answers with its own error
        }
        if (parsed.signature().equals(server.prepared().get(name))) {
            return;
        }
        beforeParse(server, name, parsed.parse().bytes().alloc());
        server.forward(parsed.parse());
        server.prepared().put(name, parsed.signature());
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
        parses.values().forEach(parsed -> parsed.parse().release());
        parses.clear();
    }
}
