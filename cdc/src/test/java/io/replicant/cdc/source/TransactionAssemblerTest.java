package io.replicant.cdc.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.replicant.cdc.event.Change;
import io.replicant.cdc.event.Recopy;
import io.replicant.cdc.event.TableId;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

/** Debezium's record shapes (as seen from Debezium 3.3 on PostgreSQL 15) grouped into whole units. */
class TransactionAssemblerTest {
    private static final Schema KEY = SchemaBuilder.struct().field("id", Schema.INT32_SCHEMA).build();
    private static final Schema ROW = SchemaBuilder.struct().field("id", Schema.INT32_SCHEMA)
            .field("note", Schema.OPTIONAL_STRING_SCHEMA).optional().build();
    private static final Schema SOURCE = SchemaBuilder.struct().field("schema", Schema.STRING_SCHEMA)
            .field("table", Schema.STRING_SCHEMA).field("lsn", Schema.OPTIONAL_INT64_SCHEMA)
            .field("snapshot", Schema.OPTIONAL_STRING_SCHEMA).build();
    private static final Schema ENVELOPE = SchemaBuilder.struct().field("op", Schema.STRING_SCHEMA)
            .field("before", ROW).field("after", ROW).field("source", SOURCE).build();
    private static final Schema TX = SchemaBuilder.struct().field("status", Schema.STRING_SCHEMA)
            .field("id", Schema.STRING_SCHEMA).field("event_count", Schema.OPTIONAL_INT64_SCHEMA).build();

    private static final Schema SIGNAL_KEY = SchemaBuilder.struct().field("id", Schema.STRING_SCHEMA).build();
    private static final Schema SIGNAL_ROW = SchemaBuilder.struct().field("id", Schema.STRING_SCHEMA)
            .field("type", Schema.STRING_SCHEMA).field("data", Schema.OPTIONAL_STRING_SCHEMA).optional().build();
    private static final Schema SIGNAL_ENVELOPE = SchemaBuilder.struct().field("op", Schema.STRING_SCHEMA)
            .field("before", SIGNAL_ROW).field("after", SIGNAL_ROW).field("source", SOURCE).build();
    private static final TableId SIGNAL = new TableId("public", "replicant_cdc_signal");

    private final TransactionAssembler<String> assembler = new TransactionAssembler<>(SIGNAL,
            java.util.Set.of(new TableId("public", "replicant_cdc_heartbeat"), SIGNAL), 3);
    private final List<TransactionAssembler.Unit<String>> units = new ArrayList<>();

    private void add(String name, SourceRecord record) {
        units.addAll(assembler.add(name, record));
    }

    private static SourceRecord tx(String status, long id, long lsn, Long events) {
        Struct value = new Struct(TX).put("status", status).put("id", id + ":" + lsn).put("event_count", events);
        return new SourceRecord(Map.of(), Map.of("lsn", lsn, "lsn_commit", lsn, "ts_usec", 1_000_000L),
                "replicant.transaction", null, TX, value);
    }

    private static SourceRecord change(String table, String op, int id, long lsn, String snapshot) {
        Struct row = new Struct(ROW).put("id", id).put("note", "n" + id);
        Struct source = new Struct(SOURCE).put("schema", "public").put("table", table).put("lsn", lsn)
                .put("snapshot", snapshot);
        Struct value = new Struct(ENVELOPE).put("op", op).put("after", op.equals("d") ? null : row)
                .put("source", source);
        return new SourceRecord(Map.of(), Map.of("lsn", lsn), "replicant.public." + table, KEY,
                new Struct(KEY).put("id", id), ENVELOPE, value);
    }

    /** A row inserted into the signal table, as a re-copy request arrives. */
    private static SourceRecord signal(String data, long lsn) {
        Struct row = new Struct(SIGNAL_ROW).put("id", "s1").put("type", "execute-snapshot").put("data", data);
        Struct source = new Struct(SOURCE).put("schema", SIGNAL.schema()).put("table", SIGNAL.table()).put("lsn", lsn);
        Struct value = new Struct(SIGNAL_ENVELOPE).put("op", "c").put("after", row).put("source", source);
        return new SourceRecord(Map.of(), Map.of("lsn", lsn), "replicant.public." + SIGNAL.table(), SIGNAL_KEY,
                new Struct(SIGNAL_KEY).put("id", "s1"), SIGNAL_ENVELOPE, value);
    }

    private static SourceRecord heartbeat(long lsn) {
        return new SourceRecord(Map.of(), Map.of("lsn", lsn), "__debezium-heartbeat.replicant", null, null);
    }

    @Test
    void aTransactionIsOneUnitFromBeginToEndAcrossBatches() {
        add("begin", tx("BEGIN", 7, 100, null));
        add("insert", change("t", "c", 1, 110, null));
        assertEquals(List.of(), assembler.endOfBatch(), "an open transaction waits for its END");
        add("update", change("t", "u", 1, 120, null));
        add("end", tx("END", 7, 130, 2L));
        assertEquals(1, units.size());
        TransactionAssembler.Unit<String> unit = units.get(0);
        assertEquals(List.of("begin", "insert", "update", "end"), unit.records());
        assertEquals(7, unit.transaction().id());
        assertEquals(130, unit.transaction().commitLsn());
        assertEquals(List.of(Change.Operation.INSERT, Change.Operation.UPDATE),
                unit.transaction().changes().stream().map(Change::op).toList());
    }

    @Test
    void aLargeTransactionGoesOutInPartsAndItsEndCarriesTheCommit() {
        add("begin", tx("BEGIN", 6, 50, null));
        for (int i = 1; i <= 7; i++) {
            add("c" + i, change("t", "c", i, 50 + i, null));
        }
        assertEquals(2, units.size(), "parts of 3 changes (the test's part size)");
        for (TransactionAssembler.Unit<String> part : units) {
            assertTrue(part.transaction().isPart());
            assertEquals(6, part.transaction().id());
            assertEquals(3, part.transaction().changes().size());
            assertEquals(List.of(), part.records(), "a part is never acknowledged on its own");
        }
        add("end", tx("END", 6, 90, 7L));
        TransactionAssembler.Unit<String> end = units.get(2);
        assertEquals(90, end.transaction().commitLsn());
        assertEquals(1, end.transaction().changes().size());
        assertEquals(List.of("c7", "end"), end.records());
    }

    @Test
    void aHeartbeatInsideATransactionIsAcknowledgedWithItNotBeforeIt() {
        add("begin", tx("BEGIN", 8, 200, null));
        add("insert", change("t", "c", 1, 210, null));
        add("heartbeat", heartbeat(215));
        assertEquals(List.of(), units);
        add("end", tx("END", 8, 220, 1L));
        assertEquals(List.of("begin", "insert", "heartbeat", "end"), units.get(0).records());

        add("idle heartbeat", heartbeat(300));
        assertEquals(2, units.size());
        assertTrue(units.get(1).transaction().changes().isEmpty());
    }

    @Test
    void aHeartbeatBetweenThePartsOfALargeTransactionWaitsForItsEnd() {
        add("begin", tx("BEGIN", 9, 400, null));
        for (int i = 1; i <= 3; i++) {
            add("c" + i, change("t", "c", i, 400 + i, null));
        }
        assertEquals(1, units.size(), "a part went out, the transaction is still open");
        add("heartbeat", heartbeat(405));
        add("c4", change("t", "c", 4, 406, null));
        assertEquals(1, units.size(), "no unit between the parts: a follower would take it for the transaction's end");
        add("end", tx("END", 9, 410, 4L));
        assertEquals(2, units.size());
        assertEquals(List.of("heartbeat", "c4", "end"), units.get(1).records(),
                "the heartbeat is acknowledged with the transaction's end, never in its middle");
    }

    @Test
    void aTransactionMissingChangesIsRefused() {
        add("begin", tx("BEGIN", 9, 300, null));
        add("insert", change("t", "c", 1, 310, null));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> assembler.add("end", tx("END", 9, 320, 2L)));
        assertTrue(e.getMessage().contains("arrived incomplete: 1 of its 2 changes"), e.getMessage());
    }

    @Test
    void heartbeatTableChangesCountButAreNotApplied() {
        add("begin", tx("BEGIN", 10, 400, null));
        add("beat", change("replicant_cdc_heartbeat", "u", 1, 410, null));
        add("end", tx("END", 10, 420, 1L));
        assertEquals(List.of(), units.get(0).transaction().changes());
    }

    @Test
    void aCopyOfATableDuringStreamingMovesNoPosition() {
        add("begin", tx("BEGIN", 11, 600, null));
        add("end", tx("END", 11, 610, 0L));
        add("r1", change("t", "r", 1, 620, "last"));
        assertEquals(2, units.size());
        assertTrue(units.get(1).transaction().isSnapshotChunk(), "a re-copy must not become a position");
    }

    @Test
    void aReCopyIsMarkedFromTheChunkThatBeginsItToTheOneThatEndsItPerTable() {
        add("begin", tx("BEGIN", 12, 700, null));
        add("end", tx("END", 12, 710, 0L));
        add("a1", change("a", "r", 1, 720, "first"));
        List<TransactionAssembler.Unit<String>> first = assembler.endOfBatch();
        assertEquals(new Recopy(new TableId("public", "a"), true, false), first.get(0).transaction().recopy());
        add("a2", change("a", "r", 2, 720, "last_in_data_collection"));
        add("b1", change("b", "r", 1, 720, "true"));
        add("b2", change("b", "r", 2, 720, "last"));
        assertEquals(null, units.get(0).transaction().recopy(), "a streamed transaction is not part of a re-copy");
        assertEquals(new Recopy(new TableId("public", "a"), false, true), units.get(1).transaction().recopy());
        assertEquals(new Recopy(new TableId("public", "b"), true, true), units.get(2).transaction().recopy());
        assertEquals(List.of("b1", "b2"), units.get(2).records());
        assertEquals(List.of(), assembler.endOfBatch());
    }

    @Test
    void theInitialCopyIsNotAReCopy() {
        add("r1", change("t", "r", 1, 500, "first"));
        add("r2", change("t", "r", 2, 500, "last_in_data_collection"));
        add("u1", change("u", "r", 1, 500, "last"));
        assertEquals(1, units.size(), "only the end of the whole copy is a unit of its own here");
        assertEquals(null, units.get(0).transaction().recopy());
        assertEquals(500, units.get(0).transaction().commitLsn());
    }

    @Test
    void snapshotRowsGoOutPerBatchAndTheLastChunkCarriesThePosition() {
        add("r1", change("t", "r", 1, 500, "first"));
        add("r2", change("t", "r", 2, 500, "true"));
        List<TransactionAssembler.Unit<String>> chunk = assembler.endOfBatch();
        assertEquals(1, chunk.size());
        assertTrue(chunk.get(0).transaction().isSnapshotChunk());
        assertEquals(2, chunk.get(0).transaction().changes().size());
        add("r3", change("t", "r", 3, 500, "last"));
        assertEquals(1, units.size());
        assertEquals(500, units.get(0).transaction().commitLsn());
        assertEquals(List.of("r3"), units.get(0).records());
    }

    @Test
    void aTableThatSentNoRowsForItsReCopyIsEmptiedWhenStreamingResumes() {
        add("b0", tx("BEGIN", 1, 10, null));
        add("e0", tx("END", 1, 20, 0L));
        add("b1", tx("BEGIN", 2, 30, null));
        add("signal", signal("{\"data-collections\": [\"public.t\", \"public.u\"], \"type\": \"blocking\"}", 40));
        add("e1", tx("END", 2, 50, 1L));
        assertEquals(2, units.size());
        assertEquals(List.of(), units.get(1).transaction().changes(), "the request itself is not applied");
        add("u1", change("u", "r", 1, 50, "first"));
        add("u2", change("u", "r", 2, 50, "last"));
        assertEquals(3, units.size());
        assertEquals(new Recopy(new TableId("public", "u"), true, true), units.get(2).transaction().recopy());

        add("heartbeat", heartbeat(60));
        assertEquals(5, units.size());
        assertEquals(new Recopy(new TableId("public", "t"), true, true), units.get(3).transaction().recopy(),
                "t had no rows on the source: an empty re-copy, so the followers empty it too");
        assertEquals(List.of(), units.get(3).transaction().changes());
        assertEquals(List.of("heartbeat"), units.get(4).records());

        add("b2", tx("BEGIN", 3, 70, null));
        add("e2", tx("END", 3, 80, 0L));
        assertEquals(6, units.size(), "only once");
    }

    @Test
    void otherSignalsAskForNoReCopy() {
        add("b1", tx("BEGIN", 2, 30, null));
        add("signal", signal("{\"data-collections\": [\"public.t\"], \"type\": \"incremental\"}", 40));
        add("e1", tx("END", 2, 50, 1L));
        add("heartbeat", heartbeat(60));
        assertTrue(units.stream().allMatch(u -> u.transaction().recopy() == null));
        assertEquals(List.of(), SnapshotSignal.blockingSnapshotTables(Map.of("type", "execute-snapshot", "data", "{")));
    }
}
