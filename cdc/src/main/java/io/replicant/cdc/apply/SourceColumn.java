package io.replicant.cdc.apply;

/**
 * A source table's column as the primary's catalog describes it, used to create or extend follower tables.
 *
 * @param type        {@code format_type()} of the column; a domain is given as its base type
 * @param kind        {@code pg_type.typtype}: {@code b} base, {@code e} enum, {@code c} composite, …
 * @param elementKind for arrays the element type's {@code typtype}, else null
 */
public record SourceColumn(String name, String type, char kind, Character elementKind, boolean notNull,
        boolean key) {

    public boolean isEnum() {
        return kind == 'e';
    }

    public boolean isEnumArray() {
        return elementKind != null && elementKind == 'e';
    }
}
