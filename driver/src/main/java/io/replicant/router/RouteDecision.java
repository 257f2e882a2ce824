package io.replicant.router;

/**
 * Where one statement goes and why.
 *
 * @param backend  the chosen backend; null when the statement must be refused
 * @param reason   why
 * @param detail   what decided, e.g. a function name, rule name or refusal message; empty if nothing to add
 * @param refusal  the SQLSTATE to refuse the statement with, or null
 */
public record RouteDecision(Backend backend, Reason reason, String detail, String refusal) {

    public static RouteDecision to(Backend backend, Reason reason, String detail) {
        return new RouteDecision(backend, reason, detail == null ? "" : detail, null);
    }

    static RouteDecision refuse(String sqlState, Reason reason, String message) {
        return new RouteDecision(null, reason, message, sqlState);
    }

    public boolean refused() {
        return refusal != null;
    }

    /** E.g. {@code replica 127.0.0.1:5433 (read)} or {@code primary 127.0.0.1:5432 (writer_function: nextval)}. */
    public String describe() {
        if (refused()) {
            return "refused with SQLSTATE " + refusal + ": " + detail;
        }
        return backend + " (" + reason.tag() + (detail.isEmpty() ? "" : ": " + detail) + ")";
    }
}
