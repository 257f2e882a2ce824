package io.replicant.cdc.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;

import io.replicant.cdc.event.Change;
import io.replicant.cdc.event.Change.Operation;
import io.replicant.cdc.event.TableId;
import org.junit.jupiter.api.Test;

class NetChangesTest {
    private static final TableId T = new TableId("public", "t");
    private static long lsn;

    private static Change upsert(Object id, String note) {
        return new Change(T, Operation.UPDATE, Map.of("id", id), null, Map.of("id", id, "note", note), false, ++lsn);
    }

    private static Change delete(Object id) {
        return new Change(T, Operation.DELETE, Map.of("id", id), null, null, false, ++lsn);
    }

    @Test
    void aRowChangedManyTimesIsWrittenOnceWhereItsLastChangeWas() {
        Change a1 = upsert(1, "a1");
        Change b = upsert(2, "b");
        Change a2 = upsert(1, "a2");
        Change a3 = upsert(1, "a3");
        assertEquals(List.of(b, a3), NetChanges.of(List.of(a1, b, a2, a3)));
    }

    @Test
    void aDeleteSupersedesWhatCameBeforeItButAnUpsertAfterADeleteIsKeptApart() {
        Change insert = upsert(1, "new");
        Change gone = delete(1);
        Change other = upsert(2, "x");
        Change again = upsert(1, "again");
        Change goneAgain = delete(1);
        assertEquals(List.of(gone, other, again), NetChanges.of(List.of(insert, gone, other, again)));
        assertEquals(List.of(other, goneAgain), NetChanges.of(List.of(insert, other, again, goneAgain)));
    }

    @Test
    void keyChangesPartialUpdatesTruncatesAndOtherColumnSetsAreBarriers() {
        Change a1 = upsert(1, "a1");
        Change keyChange = new Change(T, Operation.UPDATE, Map.of("id", 5), Map.of("id", 1),
                Map.of("id", 5, "note", "moved"), false, ++lsn);
        Change a2 = upsert(1, "a2");
        assertEquals(List.of(a1, keyChange, a2), NetChanges.of(List.of(a1, keyChange, a2)));

        Change partial = new Change(T, Operation.UPDATE, Map.of("id", 1), null, Map.of("id", 1), true, ++lsn);
        assertEquals(List.of(a1, partial, a2), NetChanges.of(List.of(a1, partial, a2)));

        Change truncate = new Change(T, Operation.TRUNCATE, Map.of(), null, null, false, ++lsn);
        assertEquals(List.of(a1, truncate, a2), NetChanges.of(List.of(a1, truncate, a2)));

        Change wider = new Change(T, Operation.UPDATE, Map.of("id", 1), null,
                Map.of("id", 1, "note", "w", "added", 7), false, ++lsn);
        assertEquals(List.of(a1, wider), NetChanges.of(List.of(a1, wider)));
    }

    @Test
    void binaryKeysCompareByContent() {
        Change first = upsert(new byte[] {1, 2}, "first");
        Change second = upsert(new byte[] {1, 2}, "second");
        Change other = upsert(new byte[] {1, 3}, "other");
        assertEquals(List.of(other, second), NetChanges.of(List.of(first, other, second)));
    }
}
