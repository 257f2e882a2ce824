package io.replicant.router;

/**
 * Where one statement goes and why.
 *
 * @param backend  the chosen backend; null when the statement must be refused
 * @param reason   why
 * @param detail   what decided, e.g. a function name, rule name or refusal message; empty if nothing to add
 * @param refusal  the SQLSTATE to refuse the statement with, or null
 * @param awaitCatchUp every replica lags: the caller may wait (up to {@code max_wait}) for one to catch up, then decide
 *                 again without waiting
 * @param requiredLsn {@code backend} may serve the read only once it has replayed this position, which the caller
 *                 checks on it (up to {@code max_wait}), else decides again without waiting; -1 when there is none
 */
public record RouteDecision(Backend backend, Reason reason, String detail, String refusal, boolean awaitCatchUp,
        long requiredLsn) {

    public static RouteDecision to(Backend backend, Reason reason, String detail) {
        return new RouteDecision(backend, reason, detail == null ? "" : detail, null, false, Lsn.UNKNOWN);
    }

    static RouteDecision refuse(String sqlState, Reason reason, String message) {
        return new RouteDecision(null, reason, message, sqlState, false, Lsn.UNKNOWN);
    }

    static RouteDecision awaitCatchUp(String detail) {
        return new RouteDecision(null, Reason.REPLICA_LAG, detail, null, true, Lsn.UNKNOWN);
    }

    static RouteDecision onceReplayed(Backend replica, Reason reason, String detail, long lsn) {
        return new RouteDecision(replica, reason, detail, null, false, lsn);
    }

    public boolean refused() {
        return refusal != null;
    }

    /** E.g. {@code replica 127.0.0.1:5433 (read)} or {@code primary 127.0.0.1:5432 (writer_function: nextval)}. */
    public String describe() {
        if (refused()) {
            return "refused with SQLSTATE " + refusal + ": " + detail;
        }
        if (awaitCatchUp) {
            return "waits for a replica to catch up (" + detail + ")";
        }
        if (requiredLsn != Lsn.UNKNOWN) {
            return backend + " once it has replayed " + Lsn.format(requiredLsn) + ", else the primary ("
                    + reason.tag() + (detail.isEmpty() ? "" : ": " + detail) + ")";
        }
        return backend + " (" + reason.tag() + (detail.isEmpty() ? "" : ": " + detail) + ")";
    }
}
