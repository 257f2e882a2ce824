package io.replicant.cdc.apply;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A follower table as its database describes it.
 *
 * @param sqlName quoted, qualified name to put in SQL
 * @param columns by lower-cased source column name (after renames; names are matched without regard to case)
 * @param key     the primary-key columns
 * @param related whether a foreign key points from or to it: then its changes keep their order relative to
 *                other tables' changes
 * @param otherUnique whether a unique index other than the primary key's constrains its rows: then changes to
 *                    different rows keep their order too
 */
public record TargetTable(String sqlName, Map<String, TargetColumn> columns, List<TargetColumn> key, boolean related,
        boolean otherUnique) {

    /**
     * @param sqlName    quoted name
     * @param typeName   the database's type name, e.g. {@code jsonb}, {@code JSON}, {@code _int4}, {@code INTEGER ARRAY}
     * @param sourceName the lower-cased source column it receives
     */
    public record TargetColumn(String name, String sqlName, String typeName, String sourceName) {

        /** This column's value in a source row (source names are matched without regard to case). */
        public Object valueIn(Map<String, Object> row) {
            for (Map.Entry<String, Object> entry : row.entrySet()) {
                if (entry.getKey().equalsIgnoreCase(sourceName)) {
                    return entry.getValue();
                }
            }
            return null;
        }
    }

    /**
     * Whether changes to different rows of this table may be applied in any order within one follower
     * transaction: nothing but the primary key ties its rows to each other or to other tables' rows. (An
     * exclusion constraint is not looked for: a follower transaction it fails is applied again change by change,
     * in source order.)
     */
    public boolean reorderable() {
        return !related && !otherUnique;
    }

    public TargetColumn column(String sourceName) {
        return columns.get(sourceName.toLowerCase(Locale.ROOT));
    }
}
