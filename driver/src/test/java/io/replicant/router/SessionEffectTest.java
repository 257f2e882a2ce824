package io.replicant.router;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class SessionEffectTest {
    private static SessionEffect set(String sql) {
        return new SessionEffect(SessionEffect.Type.SET, sql, List.of());
    }

    @Test
    void tellsTheSettingsThatMakeTransactionsSerializable() {
        assertTrue(set("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE").serializableByDefault());
        assertTrue(set("set default_transaction_isolation = 'serializable'").serializableByDefault());
        assertTrue(set("SET default_transaction_isolation TO SERIALIZABLE").serializableByDefault());
        assertFalse(set("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .serializableByDefault());
        assertFalse(set("SET default_transaction_isolation = 'read committed'").serializableByDefault());
        assertFalse(set("SET search_path = serializable").serializableByDefault());
        assertFalse(new SessionEffect(SessionEffect.Type.LISTEN, null, List.of("c")).serializableByDefault());
    }
}
