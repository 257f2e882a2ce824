package io.replicant.cdc;

import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;
import java.util.concurrent.atomic.AtomicInteger;

import io.replicant.cdc.apply.Dialect;
import io.replicant.cdc.apply.SourceColumn;
import io.replicant.cdc.apply.TargetTable;

/** A follower dialect written outside the pipeline, as a user would for another database (here: H2's MERGE). */
public final class TestMergeDialect implements Dialect {
    static final AtomicInteger UPSERTS_BUILT = new AtomicInteger();

    @Override
    public String upsert(TargetTable table, List<TargetTable.TargetColumn> columns) {
        UPSERTS_BUILT.incrementAndGet();
        StringJoiner names = new StringJoiner(", ");
        StringJoiner values = new StringJoiner(", ");
        StringJoiner key = new StringJoiner(", ");
        columns.forEach(c -> {
            names.add(c.sqlName());
            values.add("?");
        });
        table.key().forEach(c -> key.add(c.sqlName()));
        return "MERGE INTO " + table.sqlName() + " (" + names + ") KEY (" + key + ") VALUES (" + values + ")";
    }

    @Override
    public String foldCase(String identifier) {
        return identifier.toUpperCase(Locale.ROOT);
    }

    @Override
    public String columnType(SourceColumn column) {
        throw new IllegalArgumentException("this dialect does not create tables");
    }

    @Override
    public String arrayElementType(TargetTable.TargetColumn column) {
        return column.typeName();
    }
}
