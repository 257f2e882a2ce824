package io.replicant.cdc.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class H2DialectTest {
    private final H2Dialect dialect = new H2Dialect();

    private static SourceColumn column(String type, boolean key) {
        return new SourceColumn("c", type, 'b', type.endsWith("[]") ? 'b' : null, false, key);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "smallint | SMALLINT",
            "numeric(12,4) | NUMERIC(12,4)",
            "numeric | DECFLOAT",
            "character varying(20) | CHARACTER VARYING(20)",
            "character(5) | CHARACTER(5)",
            "text | CHARACTER LARGE OBJECT",
            "time without time zone | TIME(6)",
            "time(3) without time zone | TIME(3)",
            "timestamp without time zone | TIMESTAMP(6)",
            "timestamp with time zone | TIMESTAMP(6) WITH TIME ZONE",
            "interval | CHARACTER VARYING(64)",
            "jsonb | JSON",
            "bytea | BINARY LARGE OBJECT",
            "integer[] | INTEGER ARRAY",
            "text[] | CHARACTER VARYING ARRAY",
    })
    void mapsPostgresTypes(String postgres, String h2) {
        assertEquals(h2, dialect.columnType(column(postgres, false)));
    }

    @Test
    void keysAndEnumsAndUnknownTypes() {
        assertEquals("CHARACTER VARYING", dialect.columnType(column("text", true)));
        assertEquals("CHARACTER VARYING", dialect.columnType(new SourceColumn("m", "mood", 'e', null, false, false)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> dialect.columnType(column("tsvector", false)));
        assertTrue(e.getMessage().contains("tsvector"), e.getMessage());
    }

    @Test
    void upsertIsAMergeByKey() {
        TargetTable.TargetColumn id = new TargetTable.TargetColumn("ID", "\"ID\"", "INTEGER", "id");
        TargetTable.TargetColumn doc = new TargetTable.TargetColumn("DOC", "\"DOC\"", "JSON", "doc");
        TargetTable table = new TargetTable("\"PUBLIC\".\"T\"", java.util.Map.of("id", id, "doc", doc),
                java.util.List.of(id), false, false);
        assertEquals("MERGE INTO \"PUBLIC\".\"T\" (\"ID\", \"DOC\") KEY (\"ID\") VALUES (?, ? FORMAT JSON)",
                dialect.upsert(table, java.util.List.of(id, doc)));
        assertEquals("MERGE INTO \"PUBLIC\".\"T\" (\"ID\", \"DOC\") KEY (\"ID\") VALUES (?, ? FORMAT JSON), "
                + "(?, ? FORMAT JSON), (?, ? FORMAT JSON)", dialect.upsertRows(table, java.util.List.of(id, doc), 3));
    }
}
