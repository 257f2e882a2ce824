package io.replicant.router;

/**
 * One lexical token of a SQL text. Unquoted words are lower-cased (PostgreSQL folds them);
 * quoted identifiers keep their case. {@code start}/{@code end} index the original text.
 */
record Token(Type type, String text, int start, int end) {
    enum Type {
        WORD, QUOTED_IDENT, STRING, NUMBER, PARAM, OPERATOR, LPAREN, RPAREN, COMMA, DOT, SEMICOLON
    }

    boolean isWord(String word) {
        return type == Type.WORD && text.equals(word);
    }

    /** A word or quoted identifier: something that can name a table or function. */
    boolean isName() {
        return type == Type.WORD || type == Type.QUOTED_IDENT;
    }
}
