package io.replicant.proxy.session;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.replicant.config.StatementKind;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;
import io.replicant.router.Classification;
import io.replicant.router.Router;
import io.replicant.router.StatementClassifier;

/**
 * What an extended-protocol batch runs: the statements it binds, classified, how many of its statements are the
 * proxy's own ({@link ProxyStatement}), the SQL of other statements it parses, and where it ends a transaction
 * block and then binds more (null if it does not).
 */
record BatchContents(List<Classification> executed, int own, List<String> parsedOthers, boolean showsToken,
        TransactionEnd transactionEnd) {

    /** The index of the Execute of a batch's first COMMIT or ROLLBACK, and how many statements it binds up to it. */
    record TransactionEnd(int execute, int executed) {
    }

    static BatchContents of(List<Frame> frames, PreparedStatements statements, Router router) {
        List<Classification> executed = new ArrayList<>();
        int own = 0;
        List<String> parsedOthers = List.of();
        boolean showsToken = false;
        // statements parsed in this batch, by name: a later Parse of a name (the unnamed statement of "a; b")
        // replaces it for the Binds after it only; the registry records each Parse as it is sent
        Map<String, String> parsedHere = Map.of();
        boolean endBound = false;
        TransactionEnd end = null;
        boolean bindsAfterEnd = false;
        for (int i = 0; i < frames.size(); i++) {
            Frame f = frames.get(i);
            String sql = null;
            if (f.type() == MessageType.PARSE) {
                String[] parse = Messages.parseNameAndSql(f);
                if (parsedHere.isEmpty()) {
                    parsedHere = new HashMap<>(4);
                }
                parsedHere.put(parse[0], parse[1]);
                sql = parse[1];
            } else if (f.type() == MessageType.BIND) {
                sql = sqlOf(Messages.bindStatement(f), parsedHere, statements);
            } else if (f.type() == MessageType.DESCRIBE) {
                String name = Messages.statementTarget(f);
                sql = name == null ? null : sqlOf(name, parsedHere, statements);
            }
            ProxyStatement statement = sql == null ? null : ProxyStatement.of(sql);
            if (statement != null) {
                own++;
                showsToken |= statement.showsToken();
            } else if (f.type() == MessageType.PARSE) {
                if (parsedOthers.isEmpty()) {
                    parsedOthers = new ArrayList<>(2);
                }
                parsedOthers.add(sql);
            } else if (sql != null && f.type() == MessageType.BIND) {
                Classification c = router.classify(sql);
                executed.add(c);
                bindsAfterEnd |= end != null;
                endBound = end == null && (c.kind() == StatementKind.COMMIT || c.kind() == StatementKind.ROLLBACK)
                        && StatementClassifier.transactionBlockEnd(sql) >= 0;
            } else if (f.type() == MessageType.EXECUTE && endBound) {
                end = new TransactionEnd(i, executed.size());
                endBound = false;
            }
        }
        return new BatchContents(executed, own, parsedOthers, showsToken, bindsAfterEnd ? end : null);
    }

    private static String sqlOf(String statement, Map<String, String> parsedHere, PreparedStatements statements) {
        return parsedHere.containsKey(statement) ? parsedHere.get(statement) : statements.sql(statement);
    }
}
