package io.replicant.cdc.source;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.replicant.cdc.event.TableId;

/**
 * Reads a row of the signal table as Debezium does: {@code type} {@code execute-snapshot} with {@code data}
 * {@code {"data-collections": ["schema.table", …], "type": "blocking"}} asks for a blocking re-copy.
 */
final class SnapshotSignal {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SnapshotSignal() {
    }

    /** The tables a signal row asks to copy again with a blocking snapshot; none for any other signal. */
    static List<TableId> blockingSnapshotTables(Map<String, Object> row) {
        if (!"execute-snapshot".equals(row.get("type")) || !(row.get("data") instanceof String data)) {
            return List.of();
        }
        JsonNode request;
        try {
            request = JSON.readTree(data);
        } catch (JsonProcessingException e) {
            return List.of(); // Debezium rejects it too, and copies nothing
        }
        if (!request.path("type").asText("").equalsIgnoreCase("blocking")) {
            return List.of();
        }
        List<TableId> tables = new ArrayList<>();
        for (JsonNode name : request.path("data-collections")) {
            tables.add(TableId.parse(name.asText(), "public"));
        }
        return tables;
    }
}
