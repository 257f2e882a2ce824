package io.replicant.cdc.source;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.replicant.cdc.event.Change;
import io.replicant.cdc.event.Recopy;
import io.replicant.cdc.event.SourceTransaction;
import io.replicant.cdc.event.TableId;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * Groups Debezium's records into whole units for the followers: a source transaction from its BEGIN to its END
 * event (transaction metadata is on), a run of snapshot rows, or a heartbeat. It keeps each unit's records so
 * they can be acknowledged once every follower has the unit. A transaction's records may span several batches;
 * they are held until its END arrives, or, past {@code cdc.transaction_part_size} changes, go out as a
 * {@link SourceTransaction#part part}.
 *
 * @param <R> the engine's record type, handed back for acknowledgement
 */
final class TransactionAssembler<R> {
    static final String TOPIC_PREFIX = "replicant";
    private static final String TRANSACTION_TOPIC = TOPIC_PREFIX + ".transaction";
    private static final String HEARTBEAT_TOPIC_PREFIX = "__debezium-heartbeat";

    /** A unit and the records it was made of. */
    record Unit<R>(SourceTransaction transaction, List<R> records) {
    }

    /** Tables whose changes are the pipeline's own bookkeeping (heartbeat, signals): acknowledged, never applied. */
    private final Set<TableId> internalTables;
    /** Where re-copies are asked for (one of the internal tables). */
    private final TableId signalTable;
    /**
     * Tables whose re-copy was asked for and has not sent a row yet. A table that is empty on the source sends
     * none: when streaming resumes after the copy, such a table gets an empty re-copy, so its rows go on the
     * followers too.
     */
    private final Set<TableId> awaitedRecopies = new LinkedHashSet<>();
    private List<R> openRecords = new ArrayList<>();
    private List<Change> openChanges = new ArrayList<>();
    private long openTransaction;
    /** Data events seen of the open transaction, to check against the count its END event announces. */
    private long openEvents;
    private boolean inSnapshot;

    /** True once a transaction has streamed: snapshot rows after that are a re-copy of a table. */
    private boolean streaming;
    /** The table being re-copied, and whether the next chunk is its first. */
    private TableId recopyTable;
    private boolean recopyBegins;

    /** Changes of an open transaction held at most; a larger one goes out in parts. */
    private final int partSize;

    TransactionAssembler(TableId signalTable, Set<TableId> internalTables, int partSize) {
        this.signalTable = signalTable;
        this.internalTables = Set.copyOf(internalTables);
        this.partSize = partSize;
    }

    /** Adds one record; returns the units it completes (usually none or one). */
    List<Unit<R>> add(R handle, SourceRecord record) {
        List<Unit<R>> done = new ArrayList<>(1);
        String topic = record.topic();
        Map<String, ?> offset = record.sourceOffset();
        boolean streamed = topic.startsWith(HEARTBEAT_TOPIC_PREFIX) || topic.equals(TRANSACTION_TOPIC);
        // after a part of a large transaction its records are gone from openRecords, but it is still open
        boolean betweenTransactions = openTransaction == 0 && openRecords.isEmpty();
        if (streamed && !awaitedRecopies.isEmpty() && betweenTransactions) {
            // streaming resumed: the copy is over, and these tables had no rows on the source
            for (TableId table : awaitedRecopies) {
                done.add(new Unit<>(new SourceTransaction(0, 0, Instant.now(), List.of(), new Recopy(table, true, true)),
                        List.of()));
            }
            awaitedRecopies.clear();
        }
        if (topic.startsWith(HEARTBEAT_TOPIC_PREFIX)) {
            if (betweenTransactions) {
                done.add(new Unit<>(new SourceTransaction(0, longValue(offset.get("lsn")), Instant.now(), List.of()),
                        List.of(handle)));
            } else {
                // A heartbeat inside a transaction carries a position in its middle: acknowledging it on its own
                // would make a restart resume there and deliver the rest of the transaction without its start.
                openRecords.add(handle);
            }
        } else if (topic.equals(TRANSACTION_TOPIC)) {
            Struct value = (Struct) record.value();
            long id = Long.parseLong(value.getString("id").split(":")[0]);
            if ("BEGIN".equals(value.getString("status"))) {
                if (!openRecords.isEmpty()) {
                    throw new IllegalStateException("transaction " + id + " began before transaction "
                            + openTransaction + " ended");
                }
                openTransaction = id;
                openRecords.add(handle);
                streaming = true;
            } else {
                openRecords.add(handle);
                long announced = value.getInt64("event_count");
                if (announced != openEvents) {
                    // Applying the part that arrived would silently lose the rest.
                    throw new IllegalStateException("source transaction " + id + " arrived incomplete: " + openEvents
                            + " of its " + announced + " changes; nothing of it was applied");
                }
                long commitLsn = longValue(offset.get("lsn_commit"));
                Instant commitTime = micros(offset.get("ts_usec"));
                done.add(new Unit<>(new SourceTransaction(id, commitLsn, commitTime, openChanges), openRecords));
                openRecords = new ArrayList<>();
                openChanges = new ArrayList<>();
                openTransaction = 0;
                openEvents = 0;
            }
        } else if (record.value() instanceof Struct value) {
            Struct source = value.getStruct("source");
            String snapshot = source.getString("snapshot");
            boolean isSnapshot = snapshot != null && !snapshot.equals("false");
            Change change = ChangeDecoder.decode(record, value, source);
            if (change != null && change.table().equals(signalTable) && change.after() != null) {
                awaitedRecopies.addAll(SnapshotSignal.blockingSnapshotTables(change.after()));
            }
            if (isSnapshot && streaming && change != null && !change.table().equals(recopyTable)) {
                awaitedRecopies.remove(change.table());
                if (recopyTable != null && !openRecords.isEmpty()) {
                    done.add(snapshotChunk(0, Instant.now(), true)); // the previous table's last rows (no marker came)
                }
                recopyTable = change.table(); // a chunk holds one table's rows
                recopyBegins = true;
            }
            openRecords.add(handle);
            if (!isSnapshot) {
                openEvents++;
            }
            if (change != null && !internalTables.contains(change.table())) {
                openChanges.add(change);
            }
            if (!isSnapshot && openChanges.size() >= partSize) {
                // Its records are let go unacknowledged: the END's record, acknowledged with the last part, stands
                // for the whole transaction (the slot's position is the last acknowledged record's).
                done.add(new Unit<>(SourceTransaction.part(openTransaction, openChanges), List.of()));
                openChanges = new ArrayList<>();
                openRecords = new ArrayList<>();
            }
            if (isSnapshot) {
                inSnapshot = true;
                if (snapshot.equals("last")) {
                    // The initial copy's end is a position (streaming continues from it); a re-copy during
                    // streaming reads rows as of now, but streaming resumes where it stopped, so it moves none.
                    done.add(snapshotChunk(streaming ? 0 : longValue(offset.get("lsn")), micros(offset.get("ts_usec")),
                            true));
                    inSnapshot = false;
                } else if (streaming && snapshot.equals("last_in_data_collection")) {
                    done.add(snapshotChunk(0, Instant.now(), true));
                }
            }
        } else {
            // A record without a value (a tombstone, if ever enabled): nothing to apply, but it must be acknowledged
            // with its neighbours.
            openRecords.add(handle);
        }
        return done;
    }

    /** Called at the end of each engine batch: snapshot rows seen so far go out as one chunk. */
    List<Unit<R>> endOfBatch() {
        if (inSnapshot && !openRecords.isEmpty()) {
            return List.of(snapshotChunk(0, Instant.now(), false));
        }
        return List.of();
    }

    /** @param last whether the chunk ends its table (a re-copy) or the whole snapshot */
    private Unit<R> snapshotChunk(long lsn, Instant time, boolean last) {
        Recopy recopy = null;
        if (recopyTable != null) {
            recopy = new Recopy(recopyTable, recopyBegins, last);
            recopyBegins = false;
            if (last) {
                recopyTable = null;
            }
        }
        Unit<R> unit = new Unit<>(new SourceTransaction(0, lsn, time, openChanges, recopy), openRecords);
        openChanges = new ArrayList<>();
        openRecords = new ArrayList<>();
        return unit;
    }

    private static long longValue(Object value) {
        return value == null ? 0 : ((Number) value).longValue();
    }

    private static Instant micros(Object value) {
        long micros = longValue(value);
        return Instant.ofEpochSecond(micros / 1_000_000, (micros % 1_000_000) * 1_000);
    }
}
