package io.replicant.router;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import io.replicant.config.StatementKind;
import net.sf.jsqlparser.parser.AbstractJSqlParser.Dialect;
import net.sf.jsqlparser.parser.CCJSqlParser;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.statement.select.Select;

/**
 * Classifies SQL text without I/O. The lexer decides every "this writes" question, conservatively; JSqlParser
 * may only confirm that a statement the lexer found harmless really is a query (a statement it cannot parse
 * goes to the primary). See {@code shared/notes/jsqlparser-on-postgresql.md} for why the parser alone is not
 * trusted: it drops trailing statements and can truncate on quotes it misreads.
 */
public final class StatementClassifier {
    /** Longer texts are not handed to the parser (its cost grows with size); they go to the primary. */
    static final int MAX_PARSE_LENGTH = 64 * 1024;

    public Classification classify(String sql) {
        SqlLexer.Result lexed = SqlLexer.lex(sql);
        if (lexed.failed()) {
            return single(sql, StatementKind.OTHER, Verdict.UNSURE, Reason.UNPARSEABLE, lexed.error());
        }
        List<SqlLexer.Statement> statements = lexed.statements();
        if (statements.isEmpty()) {
            return single(sql, StatementKind.OTHER, Verdict.WRITE, Reason.EMPTY, "");
        }
        Hints hints = Hints.parse(statements.get(0).leadingComments());
        Piece decisive = null;
        Set<String> names = new LinkedHashSet<>();
        Set<String> tables = new LinkedHashSet<>();
        Set<String> functions = new LinkedHashSet<>();
        List<SessionEffect> effects = new ArrayList<>();
        boolean readOnlyBegin = false;
        boolean sessionBound = false;
        for (SqlLexer.Statement statement : statements) {
            Piece piece = classify(sql, statement);
            if (decisive == null || piece.verdict.compareTo(decisive.verdict) > 0) {
                decisive = piece;
            }
            for (Token t : statement.tokens()) {
                if (t.isName()) {
                    names.add(t.text());
                }
            }
            tables.addAll(piece.tables);
            functions.addAll(piece.functions);
            effects.addAll(piece.effects);
            readOnlyBegin |= piece.readOnlyBegin;
            sessionBound |= piece.sessionBound;
        }
        Reason reason = decisive.reason;
        if (statements.size() > 1 && decisive.verdict == Verdict.WRITE) {
            reason = Reason.MULTI_STATEMENT_WRITE;
        }
        return new Classification(sql, decisive.kind, decisive.verdict, reason, decisive.detail, Set.copyOf(names),
                Set.copyOf(tables), Set.copyOf(functions), hints, List.copyOf(effects),
                statements.size() == 1 && readOnlyBegin, sessionBound, statements.size());
    }

    /**
     * Where {@code sql} ends a transaction block: the offset just after its first COMMIT, END, ROLLBACK, ABORT or
     * PREPARE TRANSACTION (not ROLLBACK TO, not AND CHAIN), or -1. PostgreSQL runs what a multi-statement query has
     * after it outside the transaction, in an implicit one of its own.
     */
    public static int transactionBlockEnd(String sql) {
        SqlLexer.Result lexed = SqlLexer.lex(sql);
        for (SqlLexer.Statement st : lexed.statements()) {
            boolean ends = st.startsWith("commit") || st.startsWith("end") || st.startsWith("abort")
                    || st.startsWith("rollback") && !containsWord(st.tokens(), "to");
            if (ends && !containsSequence(st.tokens(), "and", "chain") || st.startsWith("prepare", "transaction")) {
                return st.end();
            }
        }
        return -1;
    }

    private static Classification single(String sql, StatementKind kind, Verdict verdict, Reason reason, String detail) {
        return new Classification(sql, kind, verdict, reason, detail, Set.of(), Set.of(), Set.of(), Hints.NONE,
                List.of(), false, false, 0);
    }

    /** The classification of one statement of a text. */
    private static final class Piece {
        StatementKind kind;
        Verdict verdict;
        Reason reason;
        String detail = "";
        final Set<String> tables = new LinkedHashSet<>();
        final Set<String> functions = new LinkedHashSet<>();
        final List<SessionEffect> effects = new ArrayList<>();
        boolean readOnlyBegin;
        boolean sessionBound;

        Piece set(StatementKind kind, Verdict verdict, Reason reason) {
            this.kind = kind;
            this.verdict = verdict;
            this.reason = reason;
            return this;
        }

        Piece detail(String detail) {
            this.detail = detail;
            return this;
        }
    }

    private Piece classify(String sql, SqlLexer.Statement st) {
        Piece p = new Piece();
        List<Token> tokens = st.tokens();
        TableNames.collect(tokens, p.tables);
        Token first = st.first();
        if (first.type() == Token.Type.LPAREN) {
            return classifyQuery(sql, st, p, StatementKind.SELECT);
        }
        if (first.type() != Token.Type.WORD) {
            return p.set(StatementKind.OTHER, Verdict.WRITE, Reason.UNPARSEABLE).detail("unrecognized statement");
        }
        String word = first.text();
        switch (word) {
            case "select":
                return classifyQuery(sql, st, p, StatementKind.SELECT);
            case "values":
                return classifyQuery(sql, st, p, StatementKind.VALUES);
            case "table":
                return classifyQuery(sql, st, p, StatementKind.TABLE);
            case "with":
                StatementKind main = mainStatementOfWith(tokens);
                if (main == StatementKind.SELECT || main == StatementKind.VALUES || main == StatementKind.TABLE) {
                    return classifyQuery(sql, st, p, main);
                }
                return p.set(main, Verdict.WRITE, Reason.WRITABLE_CTE).detail(main.ruleName());
            case "show":
                return p.set(StatementKind.SHOW, Verdict.READ, Reason.READ);
            case "explain":
                return isExplainAnalyze(tokens)
                        ? p.set(StatementKind.EXPLAIN, Verdict.WRITE, Reason.EXPLAIN_ANALYZE)
                        : p.set(StatementKind.EXPLAIN, Verdict.READ, Reason.READ);
            case "insert":
                return write(p, StatementKind.INSERT);
            case "update":
                return write(p, StatementKind.UPDATE);
            case "delete":
                return write(p, StatementKind.DELETE);
            case "merge":
                return write(p, StatementKind.MERGE);
            case "truncate":
                return write(p, StatementKind.TRUNCATE);
            case "copy":
                return write(p, StatementKind.COPY);
            case "create":
                createEffects(st, p);
                return write(p, StatementKind.DDL);
            case "drop":
                p.effects.add(SessionEffect.of(SessionEffect.Type.DROP, new ArrayList<>(p.tables)));
                p.effects.add(SessionEffect.of(SessionEffect.Type.CATALOG_CHANGED));
                return write(p, StatementKind.DDL);
            case "alter":
            case "comment":
            case "security":
            case "refresh":
            case "reindex":
            case "cluster":
            case "import":
                p.effects.add(SessionEffect.of(SessionEffect.Type.CATALOG_CHANGED));
                return write(p, StatementKind.DDL);
            case "call":
                return write(p, StatementKind.CALL);
            case "do":
                return write(p, StatementKind.DO);
            case "lock":
                return write(p, StatementKind.LOCK);
            case "grant":
            case "revoke":
                return write(p, StatementKind.GRANT);
            case "vacuum":
            case "analyze":
            case "analyse":
            case "checkpoint":
                return write(p, StatementKind.MAINTENANCE);
            case "notify":
                return write(p, StatementKind.NOTIFY);
            case "listen":
                p.effects.add(SessionEffect.of(SessionEffect.Type.LISTEN));
                p.sessionBound = true;
                return p.set(StatementKind.LISTEN, Verdict.SESSION, Reason.SESSION_STATE);
            case "unlisten": // only takes away: a session that listens is bound to its server by its LISTEN
                return p.set(StatementKind.LISTEN, Verdict.SESSION, Reason.SESSION_STATE);
            case "set":
                return classifySet(sql, st, p);
            case "reset":
                p.effects.add(st.startsWith("reset", "all") ? SessionEffect.of(SessionEffect.Type.RESET_ALL)
                        : new SessionEffect(SessionEffect.Type.SET, st.text(sql), List.of()));
                return p.set(StatementKind.RESET, Verdict.SESSION, Reason.SESSION_STATE);
            case "discard": // DISCARD PLANS and SEQUENCES leave nothing a session carries to its other servers
                if (st.startsWith("discard", "all")) {
                    p.effects.add(SessionEffect.of(SessionEffect.Type.DISCARD_ALL));
                } else if (st.startsWith("discard", "temp") || st.startsWith("discard", "temporary")) {
                    p.effects.add(SessionEffect.of(SessionEffect.Type.DISCARD_TEMP));
                }
                return p.set(StatementKind.DISCARD, Verdict.SESSION, Reason.SESSION_STATE);
            case "begin":
            case "start":
                p.readOnlyBegin = containsSequence(tokens, "read", "only");
                return p.set(StatementKind.BEGIN, Verdict.TRANSACTION, Reason.TRANSACTION);
            case "commit":
            case "end":
                return p.set(StatementKind.COMMIT, Verdict.TRANSACTION, Reason.TRANSACTION);
            case "rollback":
            case "abort":
                return p.set(containsWord(tokens, "to") ? StatementKind.SAVEPOINT : StatementKind.ROLLBACK,
                        Verdict.TRANSACTION, Reason.TRANSACTION);
            case "savepoint":
            case "release":
                return p.set(StatementKind.SAVEPOINT, Verdict.TRANSACTION, Reason.TRANSACTION);
            case "prepare":
                if (st.startsWith("prepare", "transaction")) {
                    return p.set(StatementKind.COMMIT, Verdict.TRANSACTION, Reason.TRANSACTION);
                }
                p.sessionBound = true;
                if (tokens.size() > 1 && tokens.get(1).isName()) {
                    p.effects.add(SessionEffect.of(SessionEffect.Type.PREPARE, List.of(tokens.get(1).text())));
                }
                return p.set(StatementKind.PREPARE, Verdict.SESSION, Reason.SESSION_STATE);
            case "execute":
                return p.set(StatementKind.EXECUTE, Verdict.SESSION, Reason.SESSION_STATE);
            case "deallocate":
                Token target = tokens.get(tokens.size() - 1);
                p.effects.add(SessionEffect.of(SessionEffect.Type.DEALLOCATE,
                        target.isWord("all") || tokens.size() < 2 ? List.of() : List.of(target.text())));
                return p.set(StatementKind.DEALLOCATE, Verdict.SESSION, Reason.SESSION_STATE);
            case "declare":
            case "fetch":
            case "move":
            case "close":
                p.sessionBound = containsSequence(tokens, "with", "hold");
                return p.set(StatementKind.CURSOR, Verdict.SESSION, Reason.SESSION_STATE);
            case "load":
                p.sessionBound = true; // the library stays loaded in the server session
                return p.set(StatementKind.OTHER, Verdict.SESSION, Reason.SESSION_STATE);
            default:
                return p.set(StatementKind.OTHER, Verdict.WRITE, Reason.UNPARSEABLE)
                        .detail("unrecognized statement '" + word + "'");
        }
    }

    private static Piece write(Piece p, StatementKind kind) {
        return p.set(kind, Verdict.WRITE, Reason.WRITE).detail(kind.ruleName());
    }

    /** SELECT, VALUES, TABLE, WITH … SELECT, ( … ): the lexer looks for anything that writes, then the parser must agree. */
    private Piece classifyQuery(String sql, SqlLexer.Statement st, Piece p, StatementKind kind) {
        List<Token> tokens = st.tokens();
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.isWord("for") && i + 1 < tokens.size()) {
                Token next = tokens.get(i + 1);
                if (next.isWord("update") || next.isWord("share") || next.isWord("no") || next.isWord("key")) {
                    return p.set(kind, Verdict.WRITE, Reason.LOCKING_READ).detail("FOR " + next.text().toUpperCase());
                }
            }
        }
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.isWord("into")) {
                selectIntoTemp(tokens, i, p);
                return p.set(kind, Verdict.WRITE, Reason.SELECT_INTO);
            }
            if (t.isWord("insert") || t.isWord("update") || t.isWord("delete") || t.isWord("merge")
                    || t.isWord("truncate")) {
                Reason reason = st.first().isWord("with") ? Reason.WRITABLE_CTE : Reason.WRITE;
                return p.set(kind, Verdict.WRITE, reason).detail("keyword " + t.text().toUpperCase());
            }
        }
        FunctionCalls.collect(tokens, p.functions);
        for (String function : p.functions) {
            if (WriterFunctions.isWriter(function)) {
                p.sessionBound = WriterFunctions.isSessionBound(function);
                return p.set(kind, Verdict.WRITE, Reason.WRITER_FUNCTION).detail(function);
            }
        }
        String problem = parserProblem(st.text(sql));
        if (problem != null) {
            return p.set(kind, Verdict.UNSURE, Reason.UNPARSEABLE).detail(problem);
        }
        return p.set(kind, Verdict.READ, Reason.READ);
    }

    /** Null when JSqlParser reads the text as a query; otherwise why not. */
    static String parserProblem(String text) {
        if (text.length() > MAX_PARSE_LENGTH) {
            return "longer than " + MAX_PARSE_LENGTH + " characters";
        }
        try {
            Object parsed = parse(text, false);
            if (!(parsed instanceof Select)) {
                return "parser read it as " + parsed.getClass().getSimpleName();
            }
            return null;
        } catch (Exception | StackOverflowError simpleFailed) {
            try {
                Object parsed = parse(text, true);
                return parsed instanceof Select ? null : "parser read it as " + parsed.getClass().getSimpleName();
            } catch (Exception | StackOverflowError e) {
                String message = String.valueOf(e.getMessage());
                int newline = message.indexOf('\n');
                return "JSqlParser: " + (newline > 0 ? message.substring(0, newline) : message);
            }
        }
    }

    private static Object parse(String text, boolean complex) throws Exception {
        // Parsed on the calling thread: CCJSqlParserUtil.parse would start an executor thread per call.
        CCJSqlParser parser = CCJSqlParserUtil.newParser(text).withDialect(Dialect.POSTGRESQL)
                .withAllowComplexParsing(complex);
        return parser.Statement();
    }

    private Piece classifySet(String sql, SqlLexer.Statement st, Piece p) {
        if (st.startsWith("set", "transaction")) {
            p.readOnlyBegin = containsSequence(st.tokens(), "read", "only");
            return p.set(StatementKind.SET, Verdict.TRANSACTION, Reason.TRANSACTION);
        }
        if (st.startsWith("set", "local") || st.startsWith("set", "constraints")) {
            return p.set(StatementKind.SET, Verdict.TRANSACTION, Reason.TRANSACTION);
        }
        p.effects.add(new SessionEffect(SessionEffect.Type.SET, st.text(sql), List.of()));
        return p.set(StatementKind.SET, Verdict.SESSION, Reason.SESSION_STATE);
    }

    /** CREATE [GLOBAL|LOCAL] TEMP|TEMPORARY [UNLOGGED] TABLE|VIEW|SEQUENCE [IF NOT EXISTS] name; CREATE FUNCTION … */
    private static void createEffects(SqlLexer.Statement st, Piece p) {
        List<Token> tokens = st.tokens();
        int i = 1;
        while (i < tokens.size() && (tokens.get(i).isWord("global") || tokens.get(i).isWord("local")
                || tokens.get(i).isWord("or") || tokens.get(i).isWord("replace"))) {
            i++;
        }
        if (i < tokens.size() && (tokens.get(i).isWord("temp") || tokens.get(i).isWord("temporary"))) {
            i++;
            while (i < tokens.size() && (tokens.get(i).isWord("unlogged") || tokens.get(i).isWord("table")
                    || tokens.get(i).isWord("view") || tokens.get(i).isWord("sequence") || tokens.get(i).isWord("recursive")
                    || tokens.get(i).isWord("if") || tokens.get(i).isWord("not") || tokens.get(i).isWord("exists"))) {
                i++;
            }
            if (i < tokens.size() && tokens.get(i).isName()) {
                p.effects.add(SessionEffect.of(SessionEffect.Type.CREATE_TEMP, List.of(tokens.get(i).text())));
            }
        } else {
            p.effects.add(SessionEffect.of(SessionEffect.Type.CATALOG_CHANGED));
        }
    }

    /** SELECT … INTO [TEMP|TEMPORARY] [TABLE] name creates a table; a temp one is session state. */
    private static void selectIntoTemp(List<Token> tokens, int into, Piece p) {
        int i = into + 1;
        if (i < tokens.size() && (tokens.get(i).isWord("temp") || tokens.get(i).isWord("temporary"))) {
            i++;
            if (i < tokens.size() && tokens.get(i).isWord("table")) {
                i++;
            }
            if (i < tokens.size() && tokens.get(i).isName()) {
                p.effects.add(SessionEffect.of(SessionEffect.Type.CREATE_TEMP, List.of(tokens.get(i).text())));
            }
        }
    }

    /** The kind of the statement a WITH clause belongs to: the first top-level DML/query keyword after the CTEs. */
    private static StatementKind mainStatementOfWith(List<Token> tokens) {
        int depth = 0;
        for (int i = 1; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.type() == Token.Type.LPAREN) {
                depth++;
            } else if (t.type() == Token.Type.RPAREN) {
                depth--;
            } else if (depth == 0 && t.type() == Token.Type.WORD) {
                switch (t.text()) {
                    case "select":
                        return StatementKind.SELECT;
                    case "values":
                        return StatementKind.VALUES;
                    case "table":
                        return StatementKind.TABLE;
                    case "insert":
                        return StatementKind.INSERT;
                    case "update":
                        return StatementKind.UPDATE;
                    case "delete":
                        return StatementKind.DELETE;
                    case "merge":
                        return StatementKind.MERGE;
                    default:
                        break;
                }
            }
        }
        return StatementKind.OTHER;
    }

    /** EXPLAIN ANALYZE …, EXPLAIN ANALYSE …, EXPLAIN (ANALYZE[, …]) …: the statement is executed. */
    private static boolean isExplainAnalyze(List<Token> tokens) {
        if (tokens.size() > 1 && tokens.get(1).type() == Token.Type.LPAREN) {
            for (int i = 2; i < tokens.size() && tokens.get(i).type() != Token.Type.RPAREN; i++) {
                Token t = tokens.get(i);
                if (t.isWord("analyze") || t.isWord("analyse")) {
                    Token value = i + 1 < tokens.size() ? tokens.get(i + 1) : null;
                    boolean off = value != null && (value.isWord("false") || value.isWord("off")
                            || (value.type() == Token.Type.NUMBER && value.text().equals("0")));
                    if (!off) {
                        return true;
                    }
                }
            }
            return false;
        }
        for (int i = 1; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.isWord("analyze") || t.isWord("analyse")) {
                return true;
            }
            if (!t.isWord("verbose")) {
                return false;
            }
        }
        return false;
    }

    private static boolean containsWord(List<Token> tokens, String word) {
        for (Token t : tokens) {
            if (t.isWord(word)) {
                return true;
            }
        }
        return false;
    }

    private static boolean containsSequence(List<Token> tokens, String a, String b) {
        for (int i = 0; i + 1 < tokens.size(); i++) {
            if (tokens.get(i).isWord(a) && tokens.get(i + 1).isWord(b)) {
                return true;
            }
        }
        return false;
    }
}
