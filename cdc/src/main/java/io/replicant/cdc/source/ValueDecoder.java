package io.replicant.cdc.source;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.Struct;

/**
 * Turns Debezium's Connect values into the plain Java values of our change model. Debezium is configured so that
 * nothing is lossy: numerics as exact decimal text, intervals as ISO-8601 text, times in microseconds.
 */
final class ValueDecoder {
    /** What Debezium sends for a TOASTed column the change did not touch ({@code unavailable.value.placeholder}). */
    static final String UNAVAILABLE = "__debezium_unavailable_value";
    private static final byte[] UNAVAILABLE_BYTES = UNAVAILABLE.getBytes(StandardCharsets.UTF_8);

    private ValueDecoder() {
    }

    /** The row's columns and values; columns whose value is unavailable are left out. */
    static Map<String, Object> row(Struct struct) {
        if (struct == null) {
            return null;
        }
        Map<String, Object> row = new LinkedHashMap<>();
        for (Field field : struct.schema().fields()) {
            Object raw = struct.get(field);
            if (!isUnavailable(raw)) {
                row.put(field.name(), value(field.schema(), raw));
            }
        }
        return row;
    }

    static boolean isUnavailable(Object raw) {
        if (raw instanceof String s) {
            return s.equals(UNAVAILABLE);
        }
        if (raw instanceof ByteBuffer b) {
            return b.remaining() == UNAVAILABLE_BYTES.length && b.duplicate().equals(ByteBuffer.wrap(UNAVAILABLE_BYTES));
        }
        if (raw instanceof byte[] b) {
            return Arrays.equals(b, UNAVAILABLE_BYTES);
        }
        return raw instanceof List<?> list && list.size() == 1 && isUnavailable(list.get(0));
    }

    static Object value(Schema schema, Object raw) {
        if (raw == null) {
            return null;
        }
        String name = schema.name();
        if (name != null) {
            switch (name) {
                case "io.debezium.time.Date":
                    return LocalDate.ofEpochDay(((Number) raw).longValue());
                case "io.debezium.time.MicroTime":
                    return LocalTime.ofNanoOfDay(((Number) raw).longValue() * 1_000);
                case "io.debezium.time.Time":
                    return LocalTime.ofNanoOfDay(((Number) raw).longValue() * 1_000_000);
                case "io.debezium.time.NanoTime":
                    return LocalTime.ofNanoOfDay(((Number) raw).longValue());
                case "io.debezium.time.MicroTimestamp":
                    return fromEpochNanos(Math.multiplyExact(((Number) raw).longValue(), 1_000L));
                case "io.debezium.time.Timestamp":
                    return fromEpochNanos(Math.multiplyExact(((Number) raw).longValue(), 1_000_000L));
                case "io.debezium.time.NanoTimestamp":
                    return fromEpochNanos(((Number) raw).longValue());
                case "io.debezium.time.ZonedTimestamp":
                    return OffsetDateTime.parse((String) raw);
                case "io.debezium.time.ZonedTime":
                    return OffsetTime.parse((String) raw);
                default:
                    break;
            }
        }
        switch (schema.type()) {
            case BYTES:
                if (raw instanceof ByteBuffer b) {
                    byte[] bytes = new byte[b.remaining()];
                    b.duplicate().get(bytes);
                    return bytes;
                }
                return raw;
            case ARRAY:
                List<Object> out = new ArrayList<>();
                for (Object element : (List<?>) raw) {
                    out.add(value(schema.valueSchema(), element));
                }
                return out;
            case STRUCT:
            case MAP:
                throw new IllegalArgumentException("unsupported column value of type " + (name == null ? schema.type()
                        : name) + "; exclude the column's table or convert it to a supported type");
            default:
                return raw;
        }
    }

    private static LocalDateTime fromEpochNanos(long nanos) {
        return LocalDateTime.ofInstant(Instant.ofEpochSecond(Math.floorDiv(nanos, 1_000_000_000L),
                Math.floorMod(nanos, 1_000_000_000L)), ZoneOffset.UTC);
    }
}
