package io.replicant.router;

/** What the primary's catalog says about a function name. Implementations hold a snapshot; no I/O on lookup. */
public interface FunctionCatalog {
    enum Volatility {
        /** In pg_catalog or information_schema: judged by {@link WriterFunctions}, not by volatility. */
        BUILTIN,
        /** User-defined and IMMUTABLE or STABLE in every overload. */
        SAFE,
        /** User-defined and VOLATILE in at least one overload. */
        VOLATILE,
        /** Not in the snapshot (created since, or not a function at all). */
        UNKNOWN
    }

    Volatility lookup(String name);

    /** A statement used a name the snapshot does not know; implementations may schedule a refresh. */
    default void missed(String name) {
    }

    /** A catalog for tests and for routing without a database: every name is a read-only built-in. */
    FunctionCatalog ALL_BUILTIN = name -> Volatility.BUILTIN;
}
