package io.replicant.cdc.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.replicant.cdc.event.Change;
import io.replicant.cdc.event.SourceTransaction;
import io.replicant.cdc.event.TableId;
import io.replicant.config.FollowerSpec;
import io.replicant.config.YamlConfigLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A follower against a real H2 database: a large source transaction arriving in parts is written into one
 * follower transaction that only its end commits, or rolls back when the follower already has it; a batch of
 * transactions is written as each row's net change.
 */
class FollowerTest {
    private static final String URL = "jdbc:h2:mem:follower_parts;DB_CLOSE_DELAY=-1";
    private static final TableId ITEMS = new TableId("public", "items");
    private Connection reader;
    private Follower follower;

    @BeforeEach
    void setUp() throws SQLException {
        reader = DriverManager.getConnection(URL, "sa", "");
        try (Statement s = reader.createStatement()) {
            s.execute("DROP ALL OBJECTS");
            s.execute("CREATE TABLE items (id INT PRIMARY KEY, note VARCHAR(20))");
        }
        FollowerSpec spec = new FollowerSpec("h2", URL, "sa", null, List.of(), List.of(), Map.of(), false,
                FollowerSpec.SchemaEvolution.NONE, FollowerSpec.OnError.STOP, null, "test");
        // never asked: the table exists and nothing is created
        SourceCatalog catalog = new SourceCatalog(YamlConfigLoader.parse("t.yaml", "hosts: ['127.0.0.1:1']",
                Map.of()).build());
        follower = new Follower(spec, "parts", catalog, 0, new SimpleMeterRegistry());
        follower.connect();
        follower.resume();
    }

    @AfterEach
    void tearDown() throws SQLException {
        follower.close();
        reader.close();
    }

    private static List<Change> inserts(int from, int to) {
        List<Change> changes = new ArrayList<>();
        for (int id = from; id <= to; id++) {
            changes.add(new Change(ITEMS, Change.Operation.INSERT, Map.of("id", id), null,
                    Map.of("id", id, "note", "n" + id), false, 0));
        }
        return changes;
    }

    private long rows() throws SQLException {
        try (Statement s = reader.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM items")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void partsBecomeVisibleOnlyWithTheEndOfTheirTransaction() throws SQLException {
        assertEquals(1, follower.apply(List.of(SourceTransaction.part(7, inserts(1, 100)))));
        assertEquals(2, follower.apply(List.of(SourceTransaction.part(7, inserts(101, 200)),
                SourceTransaction.part(7, inserts(201, 300)))));
        assertEquals(0, rows(), "a reader never sees part of a source transaction");
        assertEquals(2, follower.apply(List.of(new SourceTransaction(7, 1000, Instant.now(), inserts(301, 310)),
                new SourceTransaction(8, 1100, Instant.now(), inserts(311, 311)))));
        assertEquals(311, rows());
        assertEquals(1100, follower.position());
        assertEquals(Follower.State.ACTIVE, follower.state());
    }

    @Test
    void aRedeliveredLargeTransactionIsRolledBackAtItsEnd() throws SQLException {
        follower.apply(List.of(new SourceTransaction(7, 1000, Instant.now(), inserts(1, 10))));
        try (Statement s = reader.createStatement()) {
            s.execute("DELETE FROM items"); // so a second apply would show
        }
        follower.apply(List.of(SourceTransaction.part(7, inserts(1, 5))));
        assertEquals(1, follower.apply(List.of(new SourceTransaction(7, 1000, Instant.now(), inserts(6, 10)))));
        assertEquals(0, rows(), "the follower already had transaction 7: its parts were rolled back");
        assertEquals(1000, follower.position());
    }

    @Test
    void aBatchOfTransactionsLeavesEachRowAsItsLastChangeSaid() throws SQLException {
        // 400 rows, then a third of the first 300 change again and a third go: the 201 upserts of the first run go as
        // statements of 128, 16 and single rows
        List<Change> later = new ArrayList<>();
        for (int id = 1; id <= 300; id += 3) {
            later.add(new Change(ITEMS, Change.Operation.UPDATE, Map.of("id", id), null,
                    Map.of("id", id, "note", "u" + id), false, 0));
            later.add(new Change(ITEMS, Change.Operation.DELETE, Map.of("id", id + 1), null, null, false, 0));
        }
        later.addAll(inserts(2, 2)); // deleted above, then inserted again
        assertEquals(2, follower.apply(List.of(new SourceTransaction(7, 1000, Instant.now(), inserts(1, 400)),
                new SourceTransaction(8, 1100, Instant.now(), later))));
        StringBuilder expected = new StringBuilder();
        for (int id = 1; id <= 400; id++) {
            boolean updated = id <= 300 && id % 3 == 1;
            boolean deleted = id <= 300 && id % 3 == 2 && id != 2;
            if (!deleted) {
                expected.append(id).append(updated ? ":u" : ":n").append(id).append(',');
            }
        }
        try (Statement s = reader.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT listagg(id || ':' || note, ',') WITHIN GROUP (ORDER BY id) FROM items")) {
            rs.next();
            assertEquals(expected.substring(0, expected.length() - 1), rs.getString(1));
        }
        assertEquals(1100, follower.position());
    }

    @Test
    void partsCutOffByAnotherTransactionAreRolledBackAndReceivedAgain() throws SQLException {
        follower.apply(List.of(SourceTransaction.part(7, inserts(1, 5))));
        SourceTransaction next = new SourceTransaction(9, 2000, Instant.now(), inserts(50, 50));
        assertEquals(0, follower.apply(List.of(next)), "not taken: its position would cover the cut-off transaction");
        assertEquals(Follower.State.DOWN, follower.state());
        assertEquals(0, rows());
        assertEquals(0, follower.position());

        // reconnected, the source starts again from the acknowledged position and delivers both whole
        follower.connect();
        follower.resume();
        assertEquals(3, follower.apply(List.of(SourceTransaction.part(7, inserts(1, 5)),
                new SourceTransaction(7, 1500, Instant.now(), inserts(6, 6)), next)));
        assertEquals(7, rows());
        assertEquals(2000, follower.position());
    }
}
