package io.replicant.router;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A PostgreSQL-aware lexer: comments (nested block comments too), standard and {@code E''} strings,
 * dollar quotes, quoted identifiers, parameters and statement separators. It is the router's safety net:
 * the write checks run on its tokens, so a quote or comment can never hide a write from them, and a
 * keyword inside a string or comment never counts (e.g. a hint inside a string literal).
 *
 * <p>It does not validate SQL. Text it cannot tokenize (an unterminated quote or comment) is reported as
 * an error, and the router then sends the statement to the primary.
 */
final class SqlLexer {

    /** The statements of one SQL text, split at top-level semicolons. */
    record Result(List<Statement> statements, String error) {
        boolean failed() {
            return error != null;
        }
    }

    /** One statement: its tokens, the comments before its first token, and its source span. */
    record Statement(List<Token> tokens, List<String> leadingComments, int start, int end) {
        Token first() {
            return tokens.get(0);
        }

        boolean startsWith(String... words) {
            if (tokens.size() < words.length) {
                return false;
            }
            for (int i = 0; i < words.length; i++) {
                if (!tokens.get(i).isWord(words[i])) {
                    return false;
                }
            }
            return true;
        }

        String text(String sql) {
            return sql.substring(start, end);
        }
    }

    private final String sql;
    /** Set when only the literal shape is wanted: then no tokens, statements or comments are built. */
    private final StringBuilder shape;
    private int shapeCopied;
    private int pos;
    private final List<Statement> statements = new ArrayList<>();
    private List<Token> tokens = new ArrayList<>();
    private List<String> comments = new ArrayList<>();
    private int depth;

    private SqlLexer(String sql, boolean shapeOnly) {
        this.sql = sql;
        this.shape = shapeOnly ? new StringBuilder(sql.length()) : null;
    }

    static Result lex(String sql) {
        return new SqlLexer(sql, false).run();
    }

    /**
     * The text with every string and number literal replaced by a NUL character (which PostgreSQL never
     * accepts in a query, so a shape cannot collide with real SQL); null when there are no literals or the
     * text does not lex. Texts of one shape differ only in literal values, which never change a route.
     */
    static String literalShape(String sql) {
        SqlLexer lexer = new SqlLexer(sql, true);
        if (lexer.run().failed() || lexer.shapeCopied == 0) {
            return null;
        }
        return lexer.shape.append(sql, lexer.shapeCopied, sql.length()).toString();
    }

    private Result run() {
        try {
            while (pos < sql.length()) {
                next();
            }
        } catch (LexException e) {
            return new Result(List.of(), e.getMessage());
        }
        endStatement();
        return new Result(List.copyOf(statements), null);
    }

    private void next() {
        char c = sql.charAt(pos);
        if (Character.isWhitespace(c)) {
            pos++;
        } else if (c == '-' && peek(1) == '-') {
            int end = sql.indexOf('\n', pos);
            end = end < 0 ? sql.length() : end;
            comment(pos + 2, end);
            pos = end;
        } else if (c == '/' && peek(1) == '*') {
            blockComment();
        } else if (c == '\'') {
            string(pos, false);
        } else if (c == '"') {
            quotedIdentifier(pos);
        } else if (c == '$' && Character.isDigit(peek(1))) {
            int start = pos++;
            while (pos < sql.length() && Character.isDigit(sql.charAt(pos))) {
                pos++;
            }
            add(Token.Type.PARAM, start);
        } else if (c == '$') {
            dollarQuoteOrOperator();
        } else if (isWordStart(c)) {
            word();
        } else if (Character.isDigit(c) || (c == '.' && Character.isDigit(peek(1)))) {
            int start = pos++;
            while (pos < sql.length() && (Character.isLetterOrDigit(sql.charAt(pos)) || sql.charAt(pos) == '.'
                    || sql.charAt(pos) == '_')) {
                // "1..2" is not SQL; a '.' followed by '.' ends the number (array slices a[1:2] use ':').
                if (sql.charAt(pos) == '.' && peek(1) == '.') {
                    break;
                }
                pos++;
            }
            add(Token.Type.NUMBER, start);
        } else if (c == '?') {
            add(Token.Type.PARAM, pos++);
        } else if (c == ';') {
            pos++;
            if (depth == 0) {
                endStatement();
            } else {
                add(Token.Type.SEMICOLON, ";", pos - 1);
            }
        } else if (c == '(' || c == '[') {
            depth++;
            add(Token.Type.LPAREN, pos++);
        } else if (c == ')' || c == ']') {
            depth = Math.max(0, depth - 1);
            add(Token.Type.RPAREN, pos++);
        } else if (c == ',') {
            add(Token.Type.COMMA, pos++);
        } else if (c == '.') {
            add(Token.Type.DOT, pos++);
        } else {
            add(Token.Type.OPERATOR, pos++);
        }
    }

    private void word() {
        int start = pos;
        while (pos < sql.length() && isWordPart(sql.charAt(pos))) {
            pos++;
        }
        // String prefixes: E'..' (backslash escapes), B'..', X'..', N'..', U&'..', U&".."
        char prefix = pos - start == 1 ? Character.toLowerCase(sql.charAt(start)) : '\0';
        char after = peek(0);
        if (after == '\'' && prefix == 'e') {
            string(start, true);
        } else if (after == '\'' && (prefix == 'b' || prefix == 'x' || prefix == 'n')) {
            string(start, false);
        } else if (prefix == 'u' && after == '&' && peek(1) == '\'') {
            pos++;
            string(start, false);
        } else if (prefix == 'u' && after == '&' && peek(1) == '"') {
            pos++;
            quotedIdentifier(start);
        } else if (shape == null) {
            add(Token.Type.WORD, sql.substring(start, pos).toLowerCase(Locale.ROOT), start);
        }
    }

    /** A string literal starting at the quote at {@code pos}; {@code tokenStart} includes any prefix. */
    private void string(int tokenStart, boolean backslashEscapes) {
        pos++; // opening quote
        while (true) {
            if (pos >= sql.length()) {
                throw new LexException("unterminated string literal starting at offset " + tokenStart);
            }
            char c = sql.charAt(pos);
            if (backslashEscapes && c == '\\') {
                pos += 2;
            } else if (c == '\'') {
                if (peek(1) == '\'') {
                    pos += 2;
                } else {
                    pos++;
                    break;
                }
            } else {
                pos++;
            }
        }
        add(Token.Type.STRING, tokenStart);
    }

    private void quotedIdentifier(int tokenStart) {
        int quote = pos;
        StringBuilder name = new StringBuilder();
        pos++;
        while (true) {
            if (pos >= sql.length()) {
                throw new LexException("unterminated quoted identifier starting at offset " + quote);
            }
            char c = sql.charAt(pos);
            if (c == '"') {
                if (peek(1) == '"') {
                    name.append('"');
                    pos += 2;
                } else {
                    pos++;
                    break;
                }
            } else {
                name.append(c);
                pos++;
            }
        }
        add(Token.Type.QUOTED_IDENT, name.toString(), tokenStart);
    }

    private void dollarQuoteOrOperator() {
        int start = pos;
        int i = pos + 1;
        while (i < sql.length() && isWordPart(sql.charAt(i)) && sql.charAt(i) != '$') {
            i++;
        }
        if (i < sql.length() && sql.charAt(i) == '$'
                && (i == pos + 1 || isWordStart(sql.charAt(pos + 1)))) {
            String tag = sql.substring(pos, i + 1);
            int close = sql.indexOf(tag, i + 1);
            if (close < 0) {
                throw new LexException("unterminated dollar-quoted string " + tag + " starting at offset " + start);
            }
            pos = close + tag.length();
            add(Token.Type.STRING, start);
        } else {
            add(Token.Type.OPERATOR, pos++);
        }
    }

    private void blockComment() {
        int start = pos;
        int nesting = 0;
        while (pos < sql.length()) {
            if (sql.startsWith("/*", pos)) {
                nesting++;
                pos += 2;
            } else if (sql.startsWith("*/", pos)) {
                nesting--;
                pos += 2;
                if (nesting == 0) {
                    comment(start + 2, pos - 2);
                    return;
                }
            } else {
                pos++;
            }
        }
        throw new LexException("unterminated block comment starting at offset " + start);
    }

    private void comment(int start, int end) {
        if (shape == null && tokens.isEmpty()) {
            comments.add(sql.substring(start, end));
        }
    }

    /** The token from {@code start} to here, as written; when only the shape is wanted, a literal goes into it. */
    private void add(Token.Type type, int start) {
        if (shape == null) {
            tokens.add(new Token(type, sql.substring(start, pos), start, pos));
        } else if (type == Token.Type.STRING || type == Token.Type.NUMBER) {
            shape.append(sql, shapeCopied, start).append('\0');
            shapeCopied = pos;
        }
    }

    /** The token from {@code start} to here, with its text as the checks compare it. */
    private void add(Token.Type type, String text, int start) {
        if (shape == null) {
            tokens.add(new Token(type, text, start, pos));
        }
    }

    private void endStatement() {
        if (!tokens.isEmpty()) {
            statements.add(new Statement(List.copyOf(tokens), List.copyOf(comments), tokens.get(0).start(),
                    tokens.get(tokens.size() - 1).end()));
        }
        tokens = new ArrayList<>();
        comments = new ArrayList<>();
        depth = 0;
    }

    private char peek(int offset) {
        int i = pos + offset;
        return i < sql.length() ? sql.charAt(i) : '\0';
    }

    private static boolean isWordStart(char c) {
        return Character.isLetter(c) || c == '_' || c >= 0x80;
    }

    private static boolean isWordPart(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '$' || c >= 0x80;
    }

    private static final class LexException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        LexException(String message) {
            super(message, null, false, false);
        }
    }
}
