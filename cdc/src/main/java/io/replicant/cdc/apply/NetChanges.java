package io.replicant.cdc.apply;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.replicant.cdc.event.Change;

/**
 * The net effect of one table's changes within a follower transaction: of several changes to one row, only the
 * last is written. A hot row (a counter, a branch total) updated by a thousand source transactions in one batch
 * costs the follower one upsert instead of a thousand; the state at commit is the same.
 *
 * <p>Only for a table whose rows nothing but the primary key ties together (see {@link TargetTable#reorderable()}):
 * the surviving changes run in the order of each row's last change, which reorders changes to different rows.
 * Merging stops at anything whose effect depends on what came before it: a key change, a partial update (it keeps
 * the columns the source did not resend), a truncate, an upsert after a delete of the row (the fresh row takes
 * the follower's defaults for columns the source does not send), and upserts of different column sets.
 */
final class NetChanges {
    private NetChanges() {
    }

    static List<Change> of(List<Change> changes) {
        List<Change> net = new ArrayList<>(changes.size());
        Map<Object, Change> lastByRow = new LinkedHashMap<>();
        for (Change change : changes) {
            if (!mergeable(change)) {
                drain(lastByRow, net);
                net.add(change);
                continue;
            }
            Object row = rowKey(change.key());
            Change previous = lastByRow.get(row);
            if (previous != null && !supersedes(change, previous)) {
                drain(lastByRow, net);
            } else {
                lastByRow.remove(row); // so that it goes in again at the end
            }
            lastByRow.put(row, change);
        }
        drain(lastByRow, net);
        return net;
    }

    private static void drain(Map<Object, Change> lastByRow, List<Change> net) {
        net.addAll(lastByRow.values());
        lastByRow.clear();
    }

    private static boolean mergeable(Change change) {
        return switch (change.op()) {
            case INSERT, UPDATE -> change.oldKey() == null && !change.partial();
            case DELETE -> true;
            case TRUNCATE -> false;
        };
    }

    /** Whether writing only {@code later} leaves the row as writing both would. */
    private static boolean supersedes(Change later, Change earlier) {
        if (later.op() == Change.Operation.DELETE) {
            return true;
        }
        return earlier.op() != Change.Operation.DELETE && later.after().keySet().equals(earlier.after().keySet());
    }

    /** The key's values, compared by content ({@code byte[]} has identity equality). */
    private static Object rowKey(Map<String, Object> key) {
        if (key.values().stream().noneMatch(v -> v instanceof byte[])) {
            return key;
        }
        Map<String, Object> comparable = new HashMap<>();
        key.forEach((column, value) -> comparable.put(column, value instanceof byte[] b ? ByteBuffer.wrap(b) : value));
        return comparable;
    }
}
