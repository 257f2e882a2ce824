package io.replicant.proxy.session;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;
import io.replicant.router.Classification;
import io.replicant.router.Router;

/**
 * What an extended-protocol batch runs: the statements it binds, classified, how many of its statements are the
 * proxy's own ({@link ProxyStatement}), and the SQL of other statements it parses.
 */
record BatchContents(List<Classification> executed, int own, List<String> parsedOthers, boolean showsToken) {

    static BatchContents of(List<Frame> frames, PreparedStatements statements, Router router) {
        List<Classification> executed = new ArrayList<>();
        int own = 0;
        List<String> parsedOthers = List.of();
        boolean showsToken = false;
        // statements parsed in this batch, by name: a later Parse of a name (the unnamed statement of "a; b")
        // replaces it for the Binds after it only; the registry records each Parse as it is sent
        Map<String, String> parsedHere = Map.of();
        for (Frame f : frames) {
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
                executed.add(router.classify(sql));
            }
        }
        return new BatchContents(executed, own, parsedOthers, showsToken);
    }

    private static String sqlOf(String statement, Map<String, String> parsedHere, PreparedStatements statements) {
        return parsedHere.containsKey(statement) ? parsedHere.get(statement) : statements.sql(statement);
    }
}
