package io.replicant.router;

import java.util.Set;

/**
 * SQL keywords that may stand before a parenthesis without being a function call ({@code IN (}, {@code
 * OVER (}, {@code numeric(10,2)}, {@code COALESCE(}, …). A name followed by "(" that is not one of these is
 * treated as a function call and checked against the function catalog; a keyword missing here only costs a
 * needless trip to the primary, never a misrouted write.
 */
final class Keywords {
    static final Set<String> NOT_FUNCTIONS = Set.of(
            "select", "from", "where", "and", "or", "not", "in", "exists", "any", "all", "some", "values", "as",
            "on", "using", "join", "lateral", "over", "filter", "within", "group", "by", "order", "partition",
            "having", "union", "intersect", "except", "case", "when", "then", "else", "end", "is", "like", "ilike",
            "similar", "between", "row", "array", "cast", "with", "recursive", "returning", "into", "table",
            "only", "distinct", "limit", "offset", "fetch", "for", "of", "window", "rows", "range", "groups",
            "tablesample", "ordinality", "materialized", "overlaps", "at", "zone", "interval", "char", "character",
            "varchar", "nchar", "national", "numeric", "decimal", "dec", "float", "double", "precision", "bit",
            "varying", "time", "timestamp", "int", "integer", "smallint", "bigint", "real", "boolean", "grouping",
            "rollup", "cube", "sets", "extract", "overlay", "position", "substring", "trim", "treat", "coalesce",
            "nullif", "greatest", "least", "collate", "default", "escape", "nulls", "first", "last", "asc", "desc",
            "leading", "trailing", "both", "natural", "cross", "inner", "outer", "left", "right", "full",
            "xmlelement", "xmlforest", "xmlconcat", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmlexists",
            "xmlattributes", "xmltable", "xmlnamespaces", "columns", "passing", "unique", "check", "references",
            "primary", "key", "foreign", "constraint", "set", "update", "delete", "insert", "merge", "do",
            "conflict", "nothing", "explain", "analyze", "analyse", "verbose", "show", "div", "mod", "to", "no",
            "mode", "share", "skip", "locked", "nowait", "returns", "setof", "variadic", "out", "inout", "symmetric",
            "asymmetric", "normalize", "json", "json_array", "json_object", "json_scalar", "json_serialize",
            "is_json", "uescape", "if", "elsif", "return", "begin", "atomic");

    private Keywords() {
    }
}
