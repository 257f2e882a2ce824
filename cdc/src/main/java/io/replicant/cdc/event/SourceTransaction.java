package io.replicant.cdc.event;

import java.time.Instant;
import java.util.List;

/**
 * What followers apply atomically: one committed source transaction, or a chunk of the initial snapshot (a
 * re-copy's chunks together, see {@link Recopy}).
 *
 * @param id         the source transaction id; 0 for a snapshot chunk
 * @param commitLsn  the commit's WAL position, which becomes a follower's stored position once applied; 0 for a
 *                   snapshot chunk but the last, whose position is the snapshot's, and 0 for a {@link #isPart part}
 * @param commitTime when it committed on the source (for the last snapshot chunk: when the snapshot began)
 * @param changes    in source order; may be empty (a transaction that touched no streamed table)
 * @param recopy     for a chunk of a table's re-copy while streaming, which part of it; else null
 */
public record SourceTransaction(long id, long commitLsn, Instant commitTime, List<Change> changes, Recopy recopy) {

    public SourceTransaction {
        changes = List.copyOf(changes);
    }

    /** A source transaction, or a chunk of the initial snapshot. */
    public SourceTransaction(long id, long commitLsn, Instant commitTime, List<Change> changes) {
        this(id, commitLsn, commitTime, changes, null);
    }

    /**
     * A leading part of a source transaction too large to hold whole ({@code cdc.transaction_part_size}): more of
     * it follows, up to the unit with the same id that carries its commit.
     */
    public static SourceTransaction part(long id, List<Change> changes) {
        return new SourceTransaction(id, 0, null, changes);
    }

    public boolean isPart() {
        return id != 0 && commitLsn == 0;
    }

    /** A snapshot chunk that is not the last one: applied every time it is delivered, it moves no position. */
    public boolean isSnapshotChunk() {
        return id == 0 && commitLsn == 0;
    }

    @Override
    public String toString() {
        String what = recopy != null ? "re-copy chunk of " + recopy.table() : id == 0 ? "snapshot chunk"
                : (isPart() ? "part of transaction " : "transaction ") + id;
        return what + " (" + changes.size() + " changes, commit " + Lsn.format(commitLsn) + ")";
    }
}
