package io.replicant.cdc.source;

import java.util.Map;

import io.replicant.cdc.event.Change;
import io.replicant.cdc.event.TableId;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.source.SourceRecord;

/** One Debezium change event (the {@code op}/{@code before}/{@code after}/{@code source} envelope) as a {@link Change}. */
final class ChangeDecoder {
    private static final String NEW_KEY_HEADER = "__debezium.newkey";
    private static final String OLD_KEY_HEADER = "__debezium.oldkey";

    private ChangeDecoder() {
    }

    /**
     * The change, or null for the first half of a primary-key update: Debezium sends such an update as a delete of
     * the old key followed by a create carrying the old key in a header; the pair becomes one update, so the
     * follower keeps columns the source did not resend (unchanged TOASTed values).
     */
    static Change decode(SourceRecord record, Struct value, Struct source) {
        if (record.headers().lastWithName(NEW_KEY_HEADER) != null) {
            return null;
        }
        Header oldKeyHeader = record.headers().lastWithName(OLD_KEY_HEADER);
        Object key = record.key();
        TableId table = new TableId(source.getString("schema"), source.getString("table"));
        long lsn = source.getInt64("lsn") == null ? 0 : source.getInt64("lsn");
        String op = value.getString("op");
        Change.Operation operation = switch (op) {
            case "c", "r" -> Change.Operation.INSERT;
            case "u" -> Change.Operation.UPDATE;
            case "d" -> Change.Operation.DELETE;
            case "t" -> Change.Operation.TRUNCATE;
            default -> throw new IllegalArgumentException("unexpected change operation '" + op + "' on " + table);
        };
        if (operation != Change.Operation.TRUNCATE && !(key instanceof Struct)) {
            throw new IllegalArgumentException("table " + table + " has no primary key; CDC needs one to apply "
                    + "updates and deletes (add a primary key or exclude the table)");
        }
        Map<String, Object> keyValues = key instanceof Struct k ? ValueDecoder.row(k) : Map.of();
        Struct afterStruct = operation == Change.Operation.INSERT || operation == Change.Operation.UPDATE
                ? value.getStruct("after") : null;
        Map<String, Object> after = ValueDecoder.row(afterStruct);
        boolean partial = after != null && after.size() < afterStruct.schema().fields().size();
        if (oldKeyHeader != null && oldKeyHeader.value() instanceof Struct oldKey) {
            return new Change(table, Change.Operation.UPDATE, keyValues, ValueDecoder.row(oldKey), after, partial,
                    lsn);
        }
        return new Change(table, operation, keyValues, null, after, partial, lsn);
    }
}
