package io.replicant.router;

import java.util.List;
import java.util.Set;

/**
 * Table names as written after FROM, JOIN, INTO, UPDATE, TABLE, TRUNCATE, LOCK and COPY, for routing rules
 * and DROP of temp tables. Each name is recorded as written ({@code sales.orders}) and bare ({@code orders}).
 * Heuristic by design: rules are a routing preference; what must not go to a replica is decided elsewhere.
 */
final class TableNames {
    private static final Set<String> STARTERS = Set.of("from", "join", "into", "update", "table", "truncate", "lock",
            "copy");
    /** After these a comma continues the list of tables. */
    private static final Set<String> LISTS = Set.of("from", "table", "truncate", "lock");
    private static final Set<String> SKIPPED = Set.of("only", "if", "exists", "not", "table");

    private TableNames() {
    }

    static void collect(List<Token> tokens, Set<String> out) {
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.type() != Token.Type.WORD || !STARTERS.contains(t.text())) {
                continue;
            }
            boolean list = LISTS.contains(t.text());
            boolean functionsPossible = t.isWord("from") || t.isWord("join");
            int j = i + 1;
            while (true) {
                while (j < tokens.size() && tokens.get(j).type() == Token.Type.WORD && SKIPPED.contains(tokens.get(j).text())) {
                    j++;
                }
                int end = nameChainEnd(tokens, j);
                if (end == j) {
                    break;
                }
                if (functionsPossible && end < tokens.size() && tokens.get(end).type() == Token.Type.LPAREN) {
                    break; // FROM f(…): a function, not a table
                }
                StringBuilder full = new StringBuilder();
                for (int k = j; k < end; k += 2) {
                    if (full.length() > 0) {
                        full.append('.');
                    }
                    full.append(tokens.get(k).text());
                }
                out.add(full.toString());
                out.add(tokens.get(end - 1).text());
                j = end;
                if (!list) {
                    break;
                }
                // optional alias, then a comma continues the list
                if (j < tokens.size() && tokens.get(j).isWord("as")) {
                    j++;
                }
                if (j < tokens.size() && tokens.get(j).isName() && !isKeyword(tokens.get(j))) {
                    j++;
                }
                if (j < tokens.size() && tokens.get(j).type() == Token.Type.COMMA) {
                    j++;
                } else {
                    break;
                }
            }
        }
    }

    /** End index (exclusive) of {@code name(.name)*} starting at {@code start}; {@code start} if there is none. */
    private static int nameChainEnd(List<Token> tokens, int start) {
        if (start >= tokens.size() || !tokens.get(start).isName() || isKeyword(tokens.get(start))) {
            return start;
        }
        int end = start + 1;
        while (end + 1 < tokens.size() && tokens.get(end).type() == Token.Type.DOT && tokens.get(end + 1).isName()) {
            end += 2;
        }
        return end;
    }

    private static boolean isKeyword(Token t) {
        return t.type() == Token.Type.WORD && Keywords.NOT_FUNCTIONS.contains(t.text());
    }
}
