package io.replicant.proxy.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

import io.replicant.proxy.session.ProxyStatement.Verb;

class ProxyStatementTest {
    @Test
    void readsSetResetAndShowAsPostgreSqlSpellsThem() {
        assertEquals(new ProxyStatement(Verb.SET, "replicant.consistency", "session"),
                ProxyStatement.of("SET replicant.consistency = 'session'"));
        assertEquals(new ProxyStatement(Verb.SET, "replicant.consistency", "strong"),
                ProxyStatement.of("  set session Replicant.Consistency to strong ;\n"));
        assertEquals(new ProxyStatement(Verb.SET, "replicant.consistency_token", "0/16B6C50"),
                ProxyStatement.of("SET replicant.consistency_token='0/16B6C50'"));
        assertEquals(new ProxyStatement(Verb.SET, "replicant.consistency", "it's"),
                ProxyStatement.of("SET replicant.consistency = 'it''s'"));
        assertEquals(new ProxyStatement(Verb.RESET, "replicant.consistency", null),
                ProxyStatement.of("SET replicant.consistency TO DEFAULT"));
        assertEquals(new ProxyStatement(Verb.RESET, "replicant.consistency", null),
                ProxyStatement.of("RESET replicant.consistency"));
        assertEquals(new ProxyStatement(Verb.SHOW, "replicant.consistency_token", null),
                ProxyStatement.of("/* replicant:quorum=0 */ -- a comment\n SHOW replicant.consistency_token;"));
        assertEquals(new ProxyStatement(Verb.SET, "replicant.consistency", null),
                ProxyStatement.of("SET replicant.consistency"), "no value: the session answers 42601");
    }

    @Test
    void whatItCannotAnswerAloneIsUnsupportedAndAnythingElseIsNotItsOwn() {
        assertEquals(Verb.UNSUPPORTED, ProxyStatement.of("SET LOCAL replicant.consistency = 'strong'").verb());
        assertEquals(Verb.UNSUPPORTED, ProxyStatement.of("SET replicant.consistency = 'strong'; SELECT 1").verb());
        assertEquals(Verb.UNSUPPORTED, ProxyStatement.of("SELECT 1; SHOW replicant.consistency").verb());
        assertNull(ProxyStatement.of("SELECT 'replicant.consistency' FROM t"));
        assertNull(ProxyStatement.of("SELECT a.b FROM s.t /* replicant:consistency=strong */"));
        assertNull(ProxyStatement.of("SET search_path = replicant, public"));
        assertNull(ProxyStatement.of("SHOW search_path"));
    }
}
