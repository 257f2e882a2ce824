package io.replicant;

/**
 * Where a statement goes (or went) and why.
 *
 * @param target   {@code primary}, {@code replica}, or {@code refused}
 * @param backend  {@code host:port} of the server; empty when refused
 * @param reason   the reason tag, as in the {@code replicant.statements} metric
 * @param detail   what decided (a function, keyword, rule name, error message); may be empty
 * @param kind     the statement kind, as routing rules name it
 */
public record RouteExplanation(String target, String backend, String reason, String detail, String kind) {

    @Override
    public String toString() {
        return target + (backend.isEmpty() ? "" : " " + backend) + " (" + reason + (detail.isEmpty() ? "" : ": " + detail)
                + ")";
    }
}
