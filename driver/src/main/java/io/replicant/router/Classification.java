package io.replicant.router;

import java.util.List;
import java.util.Set;

import io.replicant.config.StatementKind;

/**
 * What the router knows about one SQL text regardless of session: cached by text. Route decisions combine
 * it with session state, hints, rules and the function catalog.
 *
 * @param sql             the SQL text
 * @param kind            statement kind (of the deciding statement, for multi-statement texts)
 * @param verdict         where the text alone allows it to run
 * @param reason          why, when the verdict is not READ
 * @param detail          e.g. the function or keyword that decided; empty if none
 * @param names           every identifier in the text, for temp-table checks
 * @param tables          referenced tables as written (qualified and unqualified), for rules
 * @param functions       called functions to check against the catalog (READ verdicts only)
 * @param hints           routing hints from leading comments
 * @param effects         session effects to apply after success
 * @param readOnlyBegin   BEGIN READ ONLY / START TRANSACTION READ ONLY / SET TRANSACTION READ ONLY
 * @param sessionBound    runs fine on a replica but would act on the wrong server (advisory locks, LISTEN, …)
 * @param statementCount  number of statements in the text
 */
public record Classification(String sql, StatementKind kind, Verdict verdict, Reason reason, String detail, Set<String> names,
        Set<String> tables, Set<String> functions, Hints hints, List<SessionEffect> effects, boolean readOnlyBegin,
        boolean sessionBound, int statementCount) {

    /** The same classification for another text of the same literal shape (rules match the real text). */
    Classification withSql(String otherSql) {
        return new Classification(otherSql, kind, verdict, reason, detail, names, tables, functions, hints, effects,
                readOnlyBegin, sessionBound, statementCount);
    }
}
