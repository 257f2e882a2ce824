package io.replicant.proxy.admin;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SSLSession;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.Future;
import io.replicant.config.ConfigException;
import io.replicant.config.Option;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.SqlState;
import io.replicant.config.Version;
import io.replicant.proxy.ConfigReload;
import io.replicant.proxy.ProxyContext;
import io.replicant.proxy.TrafficStats;
import io.replicant.proxy.backend.BackendConnection;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;
import io.replicant.proxy.session.ClientSession;
import io.replicant.proxy.session.ServerPool;
import io.replicant.router.Backend;
import io.replicant.router.Classification;
import io.replicant.router.RouteDecision;
import io.replicant.router.SessionView;

/**
 * The admin console: clients that connect to database {@value #DATABASE} talk to the proxy itself. It answers
 * simple queries only, with pgbouncer's column names where pgbouncer has the same thing, so dashboards and
 * scripts written for pgbouncer keep working.
 */
public final class AdminConsole {
    public static final String DATABASE = "replicant";

    private static final String HELP = "SHOW HELP | SHOW CLIENTS | SHOW SERVERS | SHOW POOLS | SHOW BACKENDS | "
            + "SHOW STATS | SHOW DATABASES | SHOW LISTS | SHOW VERSION | SHOW CONFIG | RELOAD | PAUSE | RESUME | "
            + "EXPLAIN ROUTE <sql>";
    /** How often a PAUSE looks again whether every session is quiet. */
    private static final long PAUSE_POLL_MILLIS = 10;

    private static final Pattern EXPLAIN_ROUTE = Pattern.compile("(?is)explain\\s+route(?:\\s+(.*))?");

    private final ProxyContext context;
    /** An extended-protocol message was refused; the rest until Sync is ignored. */
    private boolean batchFailed;

    /** One per admin client session. */
    public AdminConsole(ProxyContext context) {
        this.context = context;
    }

    /** Answers one client message (taking ownership of it): simple queries; extended ones get an error until Sync. */
    public void onFrame(Frame frame, Channel client, SessionView session) {
        try {
            switch (frame.type()) {
                case MessageType.QUERY:
                    String sql = Messages.querySql(frame);
                    if (normalized(sql).equals("PAUSE")) {
                        pause(client);
                        return;
                    }
                    write(sql, client, session);
                    client.write(Messages.readyForQuery(client.alloc(), 'I'));
                    break;
                case MessageType.SYNC:
                    batchFailed = false;
                    client.write(Messages.readyForQuery(client.alloc(), 'I'));
                    break;
                default:
                    if (!batchFailed) {
                        batchFailed = true;
                        client.write(Messages.error(client.alloc(), "ERROR", SqlState.FEATURE_NOT_SUPPORTED.code(),
                                "the admin console answers simple queries only"));
                    }
                    break;
            }
            client.flush();
        } finally {
            frame.release();
        }
    }

    private void write(String sql, Channel client, SessionView session) {
        ByteBufAllocator alloc = client.alloc();
        try {
            Result result = execute(sql, session);
            for (String notice : result.notices()) {
                client.write(Messages.notice(alloc, "NOTICE", "00000", notice));
            }
            if (!result.columns().isEmpty()) {
                client.write(Messages.rowDescription(alloc, result.columns()));
                for (List<String> row : result.rows()) {
                    client.write(Messages.dataRow(alloc, row));
                }
            }
            client.write(Messages.commandComplete(alloc, result.columns().isEmpty() ? result.tag()
                    : result.tag() + " " + result.rows().size()));
        } catch (AdminException e) {
            client.write(Messages.error(alloc, "ERROR", e.sqlState(), e.getMessage()));
        }
    }

    /** A command's answer: rows under columns, and the CommandComplete tag; no columns for commands without rows. */
    record Result(List<String> columns, List<List<String>> rows, String tag, List<String> notices) {
        static Result rows(String command, List<String> columns, List<List<String>> rows) {
            return new Result(columns, rows, command, List.of());
        }
    }

    /** A command the console refuses, with the SQLSTATE to report. */
    static final class AdminException extends Exception {
        private static final long serialVersionUID = 1L;
        private final String sqlState;

        AdminException(String sqlState, String message) {
            super(message);
            this.sqlState = sqlState;
        }

        String sqlState() {
            return sqlState;
        }
    }

    private static String stripped(String sql) {
        String command = sql.strip();
        while (command.endsWith(";")) {
            command = command.substring(0, command.length() - 1).strip();
        }
        return command;
    }

    private static String normalized(String sql) {
        return stripped(sql).toUpperCase(Locale.ROOT).replaceAll("\\s+", " ");
    }

    Result execute(String sql, SessionView session) throws AdminException {
        String command = stripped(sql);
        Matcher explain = EXPLAIN_ROUTE.matcher(command);
        if (explain.matches()) {
            return explainRoute(explain.group(1) == null ? "" : explain.group(1), session);
        }
        String upper = normalized(command);
        if (upper.startsWith("SET ")) {
            return new Result(List.of(), List.of(), "SET", List.of()); // drivers set things at login; nothing to do
        }
        switch (upper) { // PAUSE answers later, so onFrame handles it
            case "SHOW HELP":
                return Result.rows("SHOW", List.of("command"),
                        List.of(HELP.split(" \\| ")).stream().map(List::of).toList());
            case "SHOW CLIENTS":
                return clients();
            case "SHOW SERVERS":
                return servers();
            case "SHOW POOLS":
                return pools();
            case "SHOW BACKENDS":
                return backends();
            case "SHOW STATS":
                return stats();
            case "SHOW DATABASES":
                return databases();
            case "SHOW LISTS":
                return lists();
            case "SHOW VERSION":
                return Result.rows("SHOW", List.of("version"), List.of(List.of("Replicant " + Version.NUMBER)));
            case "SHOW CONFIG":
                return config();
            case "RELOAD":
                return reload();
            case "RESUME":
                if (!context.resume()) {
                    throw new AdminException(SqlState.OBJECT_NOT_IN_PREREQUISITE_STATE.code(),
                            "the proxy is not paused");
                }
                return new Result(List.of(), List.of(), "RESUME", List.of());
            default:
                throw new AdminException(SqlState.SYNTAX_ERROR.code(), "unknown admin command \"" + command
                        + "\"; the console understands " + HELP);
        }
    }

    /**
     * PAUSE: from now on sessions outside a transaction hold their next request; the command answers once no
     * session has a request running or a transaction open, which may take as long as the longest transaction.
     */
    private void pause(Channel client) {
        if (!context.pause()) {
            answerPause(client, "the proxy is already paused");
            return;
        }
        client.config().setAutoRead(false); // the answer comes later; nothing else is read meanwhile
        awaitQuiet(client);
    }

    private void awaitQuiet(Channel client) {
        if (!client.isActive()) {
            return; // the console left: the proxy stays paused until a RESUME
        }
        if (!context.paused()) {
            answerPause(client, "a RESUME lifted the pause before every session was quiet");
            return;
        }
        List<Future<Boolean>> checks = context.sessions().stream().map(ClientSession::quiescent).toList();
        AtomicInteger pending = new AtomicInteger(checks.size() + 1);
        AtomicBoolean busy = new AtomicBoolean();
        Runnable counted = () -> {
            if (pending.decrementAndGet() == 0) {
                client.eventLoop().execute(() -> {
                    if (busy.get()) {
                        client.eventLoop().schedule(() -> awaitQuiet(client), PAUSE_POLL_MILLIS,
                                TimeUnit.MILLISECONDS);
                    } else {
                        answerPause(client, null);
                    }
                });
            }
        };
        for (Future<Boolean> check : checks) {
            check.addListener(f -> {
                if (f.isSuccess() && !check.getNow()) { // a failed check: the session's thread is gone, and so is it
                    busy.set(true);
                }
                counted.run();
            });
        }
        counted.run();
    }

    private void answerPause(Channel client, String problem) {
        client.write(problem == null ? Messages.commandComplete(client.alloc(), "PAUSE")
                : Messages.error(client.alloc(), "ERROR", SqlState.OBJECT_NOT_IN_PREREQUISITE_STATE.code(), problem));
        client.writeAndFlush(Messages.readyForQuery(client.alloc(), 'I'));
        client.config().setAutoRead(true);
    }

    private Result clients() {
        List<List<String>> rows = new ArrayList<>();
        for (ClientSession session : context.sessions()) {
            ClientSession.Snapshot s = session.snapshot();
            // a Unix-socket client has no address of its own: pgbouncer shows "unix" and the socket's port
            SocketAddress from = s.localAddress() instanceof DomainSocketAddress ? s.localAddress() : s.address();
            rows.add(List.of("C", nz(s.user()), nz(s.database()), s.state(), host(from), port(from),
                    host(s.localAddress()), port(s.localAddress()), time(s.connectedAt()), time(s.lastRequestAt()),
                    nz(s.applicationName()), tls(s.tls()), String.valueOf(s.transactionStatus()),
                    String.join(",", s.servers().stream().map(c -> c.backend().name()).toList()), nz(s.pinned())));
        }
        return Result.rows("SHOW", List.of("type", "user", "database", "state", "addr", "port", "local_addr",
                "local_port", "connect_time", "request_time", "application_name", "tls", "tx_status", "servers",
                "pinned"),
                rows);
    }

    private Result servers() {
        List<List<String>> rows = new ArrayList<>();
        for (ClientSession session : context.sessions()) {
            ClientSession.Snapshot s = session.snapshot();
            for (BackendConnection server : s.servers()) {
                Backend backend = server.backend();
                rows.add(List.of("S", nz(s.user()), nz(s.database()), server == s.active() ? "active" : "idle",
                        backend.host().host(), Integer.toString(backend.host().port()), host(server.localAddress()),
                        port(server.localAddress()), time(server.connectedAt()), time(s.lastRequestAt()),
                        Integer.toString(server.processId()), nz(s.applicationName()), role(backend), tls(server.tlsSession())));
            }
        }
        for (ServerPool pool : context.pools()) {
            Map<String, String> login = pool.key().parameters();
            for (BackendConnection server : pool.idleConnections()) {
                Backend backend = server.backend();
                rows.add(List.of("S", nz(login.get("user")), nz(login.get("database")), "idle", backend.host().host(),
                        Integer.toString(backend.host().port()), host(server.localAddress()),
                        port(server.localAddress()), time(server.connectedAt()), "", Integer.toString(server.processId()),
                        nz(server.parameters().get("application_name")), role(backend), tls(server.tlsSession())));
            }
        }
        return Result.rows("SHOW", List.of("type", "user", "database", "state", "addr", "port", "local_addr",
                "local_port", "connect_time", "request_time", "remote_pid", "application_name", "role", "tls"), rows);
    }

    /** pgbouncer's form: protocol/cipher, empty in clear. */
    private static String tls(SSLSession session) {
        return session == null ? "" : session.getProtocol() + "/" + session.getCipherSuite();
    }

    /** Server connections by backend and state, and the clients behind them (the columns of SHOW POOLS). */
    private static final class PoolCounts {
        int clientsActive;
        int clientsWaiting;
        int serversActive;
        int serversIdle;
        int serversLoggingIn;

        int servers() {
            return serversActive + serversIdle + serversLoggingIn;
        }
    }

    private Map<Backend, PoolCounts> poolCounts() {
        Map<Backend, PoolCounts> counts = new LinkedHashMap<>();
        context.cluster().backends().forEach(b -> counts.put(b, new PoolCounts()));
        for (ClientSession session : context.sessions()) {
            ClientSession.Snapshot s = session.snapshot();
            for (BackendConnection server : s.servers()) {
                PoolCounts c = counts.computeIfAbsent(server.backend(), b -> new PoolCounts());
                if (server == s.active()) {
                    c.clientsActive++;
                    c.serversActive++;
                } else {
                    c.serversIdle++;
                }
            }
            if (s.opening() > 0) {
                PoolCounts c = counts.get(context.cluster().primary());
                c.clientsWaiting++;
                c.serversLoggingIn += s.opening();
            }
        }
        for (ServerPool pool : context.pools()) {
            PoolCounts c = counts.computeIfAbsent(pool.key().backend(), b -> new PoolCounts());
            c.clientsWaiting += pool.waitingClients();
            c.serversIdle += pool.idleConnections().size();
        }
        return counts;
    }

    private Result pools() {
        List<List<String>> rows = new ArrayList<>();
        String mode = context.config().get(ReplicantOptions.PROXY_POOL_MODE);
        String database = nz(context.config().get(ReplicantOptions.DATABASE));
        String user = nz(context.config().get(ReplicantOptions.USER));
        poolCounts().forEach((backend, c) -> rows.add(List.of(database, user, backend.name(), role(backend),
                Integer.toString(c.clientsActive), Integer.toString(c.clientsWaiting),
                Integer.toString(c.serversActive), Integer.toString(c.serversIdle), "0",
                Integer.toString(c.serversLoggingIn), mode)));
        return Result.rows("SHOW", List.of("database", "user", "backend", "role", "cl_active", "cl_waiting",
                "sv_active", "sv_idle", "sv_used", "sv_login", "pool_mode"), rows);
    }

    /** pgbouncer's SHOW STATS: totals since start; rates and average durations over the last stats period. */
    private Result stats() {
        long seconds = TrafficStats.PERIOD.toSeconds();
        List<List<String>> rows = new ArrayList<>();
        context.traffic().forEach((database, traffic) -> {
            TrafficStats.Totals t = traffic.totals();
            TrafficStats.Totals p = traffic.lastPeriod();
            rows.add(List.of(database, Long.toString(t.transactions()), Long.toString(t.queries()),
                    Long.toString(t.received()), Long.toString(t.sent()), Long.toString(t.transactionMicros()),
                    Long.toString(t.queryMicros()), Long.toString(t.waitMicros()),
                    Long.toString(p.transactions() / seconds), Long.toString(p.queries() / seconds),
                    Long.toString(p.received() / seconds), Long.toString(p.sent() / seconds),
                    Long.toString(average(p.transactionMicros(), p.transactions())),
                    Long.toString(average(p.queryMicros(), p.queries())),
                    Long.toString(average(p.waitMicros(), p.waits()))));
        });
        return Result.rows("SHOW", List.of("database", "total_xact_count", "total_query_count", "total_received",
                "total_sent", "total_xact_time", "total_query_time", "total_wait_time", "avg_xact_count",
                "avg_query_count", "avg_recv", "avg_sent", "avg_xact_time", "avg_query_time", "avg_wait_time"), rows);
    }

    private static long average(long total, long count) {
        return count == 0 ? 0 : total / count;
    }

    /** pgbouncer's SHOW DATABASES, one row per server of the cluster (the same database on each). */
    private Result databases() {
        String database = nz(context.config().get(ReplicantOptions.DATABASE));
        String user = nz(context.config().get(ReplicantOptions.USER));
        String poolSize = Integer.toString(context.config().get(ReplicantOptions.PROXY_POOL_SIZE));
        String mode = context.config().get(ReplicantOptions.PROXY_POOL_MODE);
        List<List<String>> rows = new ArrayList<>();
        poolCounts().forEach((backend, c) -> rows.add(List.of(database, backend.host().host(),
                Integer.toString(backend.host().port()), database, user, poolSize, "0", "0", mode, "0",
                Integer.toString(c.servers()), context.paused() ? "1" : "0", backend.isAvailable() ? "0" : "1",
                role(backend))));
        return Result.rows("SHOW", List.of("name", "host", "port", "database", "force_user", "pool_size",
                "min_pool_size", "reserve_pool", "pool_mode", "max_connections", "current_connections", "paused",
                "disabled", "role"), rows);
    }

    /** pgbouncer's SHOW LISTS: how many of each thing the proxy holds. */
    private Result lists() {
        List<ClientSession.Snapshot> clients = context.sessions().stream().map(ClientSession::snapshot).toList();
        Map<Backend, PoolCounts> pools = poolCounts();
        int servers = pools.values().stream().mapToInt(PoolCounts::servers).sum();
        int idle = context.pools().stream().mapToInt(p -> p.idleConnections().size()).sum();
        int loggingIn = (int) clients.stream().filter(c -> c.state().equals("login")).count();
        Map<String, Integer> lists = new LinkedHashMap<>();
        lists.put("databases", context.traffic().size());
        lists.put("users", (int) clients.stream().map(ClientSession.Snapshot::user).distinct().count());
        lists.put("pools", pools.size());
        lists.put("free_clients", 0);
        lists.put("used_clients", clients.size() - loggingIn);
        lists.put("login_clients", loggingIn);
        lists.put("free_servers", idle);
        lists.put("used_servers", servers - idle);
        lists.put("dns_names", 0);
        lists.put("dns_zones", 0);
        lists.put("dns_queries", 0);
        lists.put("dns_pending", 0);
        List<List<String>> rows = new ArrayList<>();
        lists.forEach((name, items) -> rows.add(List.of(name, Integer.toString(items))));
        return Result.rows("SHOW", List.of("list", "items"), rows);
    }

    private Result backends() {
        List<List<String>> rows = new ArrayList<>();
        for (Backend b : context.cluster().backends()) {
            rows.add(List.of(b.name(), role(b), b.isAvailable() ? "up" : "down",
                    Boolean.toString(b.isEligible()), nz(b.reason()), b.isPrimary() ? "0" : Long.toString(b.lagBytes()),
                    b.isPrimary() ? "0" : String.format(Locale.ROOT, "%.3f", b.lagMillis() / 1000.0),
                    Integer.toString(b.inFlight()), Integer.toString(b.weight())));
        }
        return Result.rows("SHOW", List.of("name", "role", "health", "eligible", "reason", "lag_bytes",
                "lag_seconds", "in_flight", "weight"), rows);
    }

    private Result config() {
        List<List<String>> rows = new ArrayList<>();
        Map<String, String> values = context.config().options().describe(); // secrets masked
        for (Option<?> option : ReplicantOptions.all()) {
            rows.add(List.of(option.name(), nz(values.get(option.name())), option.defaultText(),
                    ConfigReload.RELOADABLE.contains(option) ? "yes" : "no"));
        }
        return Result.rows("SHOW", List.of("key", "value", "default", "changeable"), rows);
    }

    private Result reload() throws AdminException {
        try {
            List<String> notes = context.reload();
            return new Result(List.of(), List.of(), "RELOAD", notes);
        } catch (ConfigException e) {
            throw new AdminException(SqlState.INVALID_PARAMETER_VALUE.code(),
                    "the configuration was not reloaded; the running one stays: " + e.getMessage());
        }
    }

    private Result explainRoute(String sql, SessionView session) throws AdminException {
        if (sql.isEmpty()) {
            throw new AdminException(SqlState.SYNTAX_ERROR.code(), "EXPLAIN ROUTE needs a statement");
        }
        Classification c = context.cluster().router().classify(sql);
        RouteDecision d = context.cluster().router().route(c, session, context.cluster().primary(),
                context.cluster().replicas(), false);
        List<String> row = d.refused()
                ? List.of("refused", "", c.reason().tag(), nz(d.detail()) + " (SQLSTATE " + d.refusal() + ")",
                        c.kind().ruleName(), c.verdict().name().toLowerCase(Locale.ROOT))
                : List.of(role(d.backend()), d.backend().name(), d.reason().tag(), nz(d.detail()),
                        c.kind().ruleName(), c.verdict().name().toLowerCase(Locale.ROOT));
        return Result.rows("EXPLAIN", List.of("target", "backend", "reason", "detail", "statement_kind", "verdict"),
                List.of(row));
    }

    private static String role(Backend b) {
        return b.isPrimary() ? "primary" : b.host().cdcFollower() ? "cdc_follower" : "replica";
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }

    /** An IP address, or {@code unix} for a Unix-domain socket, as pgbouncer reports them. */
    private static String host(SocketAddress a) {
        if (a instanceof InetSocketAddress inet) {
            return inet.getAddress().getHostAddress();
        }
        return a instanceof DomainSocketAddress ? "unix" : "";
    }

    /** A TCP port, or for a Unix-domain socket the port its name carries ({@code .s.PGSQL.6432}). */
    private static String port(SocketAddress a) {
        if (a instanceof InetSocketAddress inet) {
            return Integer.toString(inet.getPort());
        }
        if (a instanceof DomainSocketAddress unix) {
            String path = unix.path();
            return path.substring(path.lastIndexOf('.') + 1);
        }
        return "";
    }

    private static String time(long epochMillis) {
        return epochMillis == 0 ? "" : Instant.ofEpochMilli(epochMillis).toString();
    }
}
