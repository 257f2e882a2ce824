package io.replicant.router;

import java.util.List;
import java.util.Set;

/**
 * Finds function calls in a token list: a name followed by "(", excluding keywords ({@link Keywords}), alias
 * column lists ({@code AS t(a, b)}, {@code generate_series(1, 3) g(i)}) and CTE column lists
 * ({@code WITH x(a) AS (…)}). Schema-qualified calls yield the bare function name.
 */
final class FunctionCalls {
    private FunctionCalls() {
    }

    static void collect(List<Token> tokens, Set<String> out) {
        for (int i = 0; i + 1 < tokens.size(); i++) {
            Token t = tokens.get(i);
            Token next = tokens.get(i + 1);
            if (!t.isName() || next.type() != Token.Type.LPAREN || !next.text().equals("(")) {
                continue;
            }
            if (t.type() == Token.Type.WORD && Keywords.NOT_FUNCTIONS.contains(t.text())) {
                continue;
            }
            if (isAliasColumnList(tokens, i) || isCteColumnList(tokens, i + 1)) {
                continue;
            }
            out.add(t.text());
        }
    }

    /** {@code … AS t(a)}, {@code … ) t(a)}, {@code tbl t(a)}: the token before the (qualified) name is not an operand position. */
    private static boolean isAliasColumnList(List<Token> tokens, int nameIndex) {
        int i = nameIndex - 1;
        while (i >= 1 && tokens.get(i).type() == Token.Type.DOT && tokens.get(i - 1).isName()) {
            i -= 2;
        }
        if (i < 0) {
            return false;
        }
        Token before = tokens.get(i);
        if (before.isWord("as") || before.type() == Token.Type.RPAREN || before.type() == Token.Type.QUOTED_IDENT) {
            return true;
        }
        return before.type() == Token.Type.WORD && !Keywords.NOT_FUNCTIONS.contains(before.text());
    }

    /** {@code name(cols) AS (…)} or {@code AS [NOT] MATERIALIZED (…)} after the matching parenthesis. */
    private static boolean isCteColumnList(List<Token> tokens, int open) {
        int depth = 0;
        for (int i = open; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.type() == Token.Type.LPAREN) {
                depth++;
            } else if (t.type() == Token.Type.RPAREN && --depth == 0) {
                if (i + 2 < tokens.size() && tokens.get(i + 1).isWord("as")) {
                    Token after = tokens.get(i + 2);
                    return after.type() == Token.Type.LPAREN || after.isWord("materialized") || after.isWord("not");
                }
                return false;
            }
        }
        return false;
    }
}
