package io.replicant.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.replicant.router.Lsn;

/** WAL positions, the lag clock and the lag policy, without servers. */
class HealthPartsTest {
    private static final long MS = 1_000_000;

    @Test
    void lsnTextRoundTrips() {
        assertEquals(0x16B6C50L, Lsn.parse("0/16B6C50"));
        assertEquals(0x16_B374D848L, Lsn.parse("16/B374D848"));
        assertEquals("16/B374D848", Lsn.format(Lsn.parse("16/b374d848")));
        assertEquals("0/0", Lsn.format(0));
        for (String bad : new String[] {"", "16", "/1", "1/", "1/2/3", "G/1", "123456789/1", "1/123456789"}) {
            assertThrows(IllegalArgumentException.class, () -> Lsn.parse(bad), bad);
        }
    }

    @Test
    void lagTimeCountsFromTheFirstWriteTheReplicaMisses() {
        WalHistory h = new WalHistory(4);
        h.record(1000 * MS, 100);
        h.record(1100 * MS, 100); // unchanged positions are not new samples
        h.record(2000 * MS, 200);
        h.record(3000 * MS, 300);
        assertEquals(300, h.latest());
        assertEquals(0, h.lagMillis(300, 9000 * MS), "caught up: no lag however long the primary was idle");
        assertEquals(6000, h.lagMillis(250, 9000 * MS), "misses the write first seen at 3000 ms");
        assertEquals(8000, h.lagMillis(99, 9000 * MS));
        h.record(4000 * MS, 400);
        h.record(5000 * MS, 500); // the ring drops the sample from 1000 ms
        assertEquals(7000, h.lagMillis(99, 9000 * MS), "older than the ring: counted from its oldest sample");
    }

    @Test
    void lagPolicyHasHysteresis() {
        LagPolicy bytes = new LagPolicy(1000L, null, 50);
        assertFalse(bytes.lagging(false, 1000, 99_999));
        assertTrue(bytes.lagging(false, 1001, 0));
        assertTrue(bytes.lagging(true, 600, 0), "still above the re-admission mark");
        assertFalse(bytes.lagging(true, 500, 0));
        LagPolicy time = new LagPolicy(null, Duration.ofSeconds(2), 25);
        assertTrue(time.lagging(false, Long.MAX_VALUE / 200, 2001));
        assertTrue(time.lagging(true, 0, 501));
        assertFalse(time.lagging(true, 0, 500));
        assertFalse(new LagPolicy(null, null, 50).lagging(true, Long.MAX_VALUE / 200, Long.MAX_VALUE / 200));
    }

    @Test
    void insertPositionAfterAPageHeaderIsThePageBoundary() {
        long seg = 16L << 20;
        assertEquals(8192 * 5, WalPosition.recordBoundary(8192 * 5 + 24, 8192, seg));
        assertEquals(seg * 3, WalPosition.recordBoundary(seg * 3 + 40, 8192, seg));
        assertEquals(8192 * 5 + 40, WalPosition.recordBoundary(8192 * 5 + 40, 8192, seg),
                "40 bytes into an ordinary page is record data");
        assertEquals(8192 * 5 + 32, WalPosition.recordBoundary(8192 * 5 + 32, 8192, seg));
    }
}
