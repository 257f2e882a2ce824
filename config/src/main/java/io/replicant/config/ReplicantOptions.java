package io.replicant.config;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.replicant.config.Option.Group;

/**
 * The one registry of Replicant options. The URL ({@code ?load_balance=random}), {@link java.util.Properties}
 * and YAML ({@code load_balance: random}; {@code pool.max_size} is {@code pool: {max_size: …}}) all map here,
 * and the README's options table is checked against this list by a test.
 */
public final class ReplicantOptions {

    private static final Map<String, Option<?>> BY_NAME = new LinkedHashMap<>();

    public static final Option<String> DATABASE = define("database", ValueType.text(), null, Group.ESSENTIALS, false,
            "Database name on every host. In a URL it is the path: `jdbc:replicant:postgresql://h1,h2/app`.");

    public static final Option<String> USER = define("user", ValueType.text(), null, Group.ESSENTIALS, false,
            "Database user for every backend connection.");

    public static final Option<String> PASSWORD = define("password", ValueType.text(), null, Group.ESSENTIALS, true,
            "Password for `user`. Never logged or shown. In YAML write `${ENV_VAR}` rather than the secret itself.");

    public static final Option<String> PRIMARY = define("primary", ValueType.oneOf("first", "discover"), "first",
            Group.ESSENTIALS, false,
            "`first`: the first host is the primary and the rest are replicas. `discover`: every host is asked "
                    + "`pg_is_in_recovery()` when the cluster is opened; the one that is not in recovery is the primary.");

    public static final Option<String> LOAD_BALANCE = define("load_balance",
            ValueType.oneOf("round_robin", "random", "weighted", "least_in_flight"), "round_robin",
            Group.FREQUENTLY_USED, false,
            "How reads are spread over eligible replicas, per statement in autocommit mode and per transaction otherwise. "
                    + "`weighted` uses each host's `weight`; `least_in_flight` picks the replica running the fewest statements.");

    public static final Option<String> LOAD_BALANCE_SCOPE = define("load_balance_scope",
            ValueType.oneOf("statement", "connection"), "statement", Group.FREQUENTLY_USED, false,
            "`statement`: each read (or read-only transaction) picks a replica by `load_balance`. `connection`: a "
                    + "connection keeps the replica it first read from while that replica stays eligible, so each "
                    + "server sees fewer, busier sessions (much faster through the proxy on a busy box) and reads are "
                    + "monotonic; the spread then comes from having many connections.");

    public static final Option<String> PRIMARY_READS = define("primary_reads",
            ValueType.oneOf("never", "when_no_replica", "always"), "when_no_replica", Group.FREQUENTLY_USED, false,
            "Whether the primary joins the read pool: `never` (a read with no replica available fails with 08001), "
                    + "`when_no_replica` (only when no replica can be used), `always` (as one more member of the pool).");

    public static final Option<List<String>> READ_ONLY_FUNCTIONS = define("read_only_functions", ValueType.nameList(),
            List.of(), Group.FREQUENTLY_USED, false,
            "User-defined functions that are VOLATILE in the catalog but do not write, so a SELECT calling them may "
                    + "run on a replica. Comma-separated in a URL, a list in YAML.");

    public static final Option<Integer> POOL_MAX_SIZE = define("pool.max_size", ValueType.integer(1, 10_000), 10,
            Group.FREQUENTLY_USED, false,
            "Maximum physical connections per backend (HikariCP `maximumPoolSize`). A logical connection holds at most "
                    + "one physical connection per backend it has used.");

    public static final Option<Duration> POOL_CONNECT_TIMEOUT = define("pool.connect_timeout",
            ValueType.duration(Duration.ofMillis(250), Duration.ofHours(1)), Duration.ofSeconds(10),
            Group.FREQUENTLY_USED, false,
            "How long getting a physical connection may take before the statement fails with 08001.");

    public static final Option<Integer> POOL_MIN_IDLE = define("pool.min_idle", ValueType.integer(0, 10_000), 0,
            Group.RARELY_USED, false,
            "Idle physical connections kept open per backend (HikariCP `minimumIdle`).");

    public static final Option<Duration> POOL_IDLE_TIMEOUT = define("pool.idle_timeout",
            ValueType.duration(Duration.ofSeconds(10), Duration.ofDays(1)), Duration.ofMinutes(10),
            Group.RARELY_USED, false, "How long an idle physical connection stays in the pool (the driver's pools, "
                    + "and the proxy's in `transaction` mode).");

    public static final Option<Duration> POOL_MAX_LIFETIME = define("pool.max_lifetime",
            ValueType.duration(Duration.ofSeconds(30), Duration.ofDays(1)), Duration.ofMinutes(30),
            Group.RARELY_USED, false, "Maximum lifetime of a physical connection in the pool (in the proxy's "
                    + "`transaction` mode a connection past it is closed once it is idle).");

    public static final Option<Integer> PARSE_CACHE_SIZE = define("parse_cache_size", ValueType.integer(0, 1_000_000),
            10_000, Group.RARELY_USED, false,
            "Number of distinct SQL texts whose classification is cached; beyond it the least used are evicted. "
                    + "0 disables the cache.");

    public static final Option<Duration> CATALOG_REFRESH = define("catalog_refresh",
            ValueType.duration(Duration.ofSeconds(1), Duration.ofDays(1)), Duration.ofMinutes(1),
            Group.RARELY_USED, false,
            "How often the primary's function catalog (which user-defined functions are VOLATILE) is re-read. "
                    + "It is also re-read after DDL through Replicant and when a statement calls a function it has not seen.");

    public static final Option<String> CONSISTENCY = define("consistency",
            ValueType.oneOf("eventual", "session", "token", "strong"), "eventual", Group.FREQUENTLY_USED, false,
            "What reads may see. `eventual`: any eligible replica. `session`: read-your-writes and monotonic reads "
                    + "within a connection (a read waits up to `max_wait` for a replica that has replayed the "
                    + "connection's last commit, else runs on the primary). `token`: `session`, plus every commit made "
                    + "through this configuration and any token given with `setConsistencyToken` (causal across "
                    + "connections). `strong`: every read on the primary. Per connection: "
                    + "`ReplicantConnection.setConsistency`, through the proxy `SET replicant.consistency`; per "
                    + "statement: `/* replicant:consistency=strong */`.");

    public static final Option<Long> LAG_MAX_BYTES = define("lag.max_bytes", ValueType.byteSize(0, 1L << 40), null,
            Group.FREQUENTLY_USED, false,
            "A replica whose replay position is more than this far behind the primary's WAL position leaves the read "
                    + "pool. Unset: no byte limit.");

    public static final Option<Duration> LAG_MAX_TIME = define("lag.max_time",
            ValueType.duration(Duration.ofMillis(1), Duration.ofDays(1)), null, Group.FREQUENTLY_USED, false,
            "A replica that has not replayed what the primary wrote this long ago leaves the read pool. Lag time is 0 "
                    + "when the replica has replayed everything (not \"time since its last transaction\"). Unset: no time limit.");

    public static final Option<Integer> LAG_READMIT_PERCENT = define("lag.readmit_percent", ValueType.integer(0, 100),
            50, Group.RARELY_USED, false,
            "A replica excluded for lag comes back once its lag is below this percentage of the limit, so a replica "
                    + "hovering near the limit does not flap.");

    public static final Option<String> LAG_FALLBACK = define("lag.fallback", ValueType.oneOf("primary", "wait", "error"),
            "primary", Group.FREQUENTLY_USED, false,
            "What a read does when replicas are up but all lag beyond the limits: run on the `primary`, `wait` up to "
                    + "`max_wait` for one to catch up (then the primary), or fail with `error` (SQLSTATE 08001).");

    public static final Option<Boolean> LAG_PREFER_LEAST_LAGGED = define("lag.prefer_least_lagged", ValueType.bool(),
            false, Group.RARELY_USED, false,
            "Send each read to the eligible replica with the least replay lag instead of using `load_balance`.");

    public static final Option<Duration> MAX_WAIT = define("max_wait",
            ValueType.duration(Duration.ZERO, Duration.ofMinutes(1)), Duration.ofMillis(100), Group.FREQUENTLY_USED, false,
            "How long a read may wait for a replica to catch up (to the session's position in `session`/`token` "
                    + "consistency, or below the lag limits with `lag.fallback: wait`) before it runs on the primary.");

    public static final Option<Duration> MONITOR_INTERVAL = define("monitor.interval",
            ValueType.duration(Duration.ofMillis(10), Duration.ofMinutes(1)), Duration.ofMillis(250), Group.RARELY_USED,
            false,
            "How often the replica monitor asks the primary for its WAL position and each replica for its replay "
                    + "position and health: a handful of queries per interval, none per statement.");

    public static final Option<Duration> HEALTH_TIMEOUT = define("health.timeout",
            ValueType.duration(Duration.ofSeconds(1), Duration.ofMinutes(1)), Duration.ofSeconds(1), Group.RARELY_USED,
            false, "How long one monitor check (connect + query) may take before it counts as failed (whole seconds).");

    public static final Option<Integer> HEALTH_DOWN_AFTER = define("health.down_after", ValueType.integer(1, 1000), 3,
            Group.RARELY_USED, false,
            "Consecutive failed monitor checks after which a backend is marked down. A connection error (SQLSTATE "
                    + "class 08, 57P01-57P03) on a live connection, or a failed connection attempt, marks it down at once.");

    public static final Option<Integer> HEALTH_UP_AFTER = define("health.up_after", ValueType.integer(1, 1000), 2,
            Group.RARELY_USED, false, "Consecutive successful monitor checks after which a down backend is used again.");

    public static final Option<String> REPLICATION_MODE = define("replication.mode", ValueType.oneOf("async", "sync"),
            "async", Group.FREQUENTLY_USED, false,
            "`sync`: a commit that wrote returns only once `quorum.w` replicas have it (see `quorum.*`). `async`: "
                    + "commits return as soon as the primary has them, as streaming replication does by default.");

    public static final Option<Integer> QUORUM_W = define("quorum.w", ValueType.integer(0, 1000), 1,
            Group.FREQUENTLY_USED, false,
            "With `replication.mode: sync`, how many replicas must acknowledge a commit's WAL position before the commit "
                    + "returns. Per transaction: `ReplicantConnection.setQuorum(w)` or `/* replicant:quorum=w */`.");

    public static final Option<String> QUORUM_ACK = define("quorum.ack", ValueType.oneOf("replay", "flush"), "replay",
            Group.RARELY_USED, false,
            "What counts as acknowledged: `replay` (queries on the replica see the commit, like "
                    + "`synchronous_commit = remote_apply`) or `flush` (on the replica's disk, like `on`).");

    public static final Option<Boolean> QUORUM_CDC_FOLLOWERS = define("quorum.cdc_followers", ValueType.bool(), false,
            Group.RARELY_USED, false,
            "Count CDC followers (hosts with `replication: cdc`) toward W as well as streaming replicas: a follower "
                    + "acknowledges a commit once the pipeline has applied it there. Only commits to tables the "
                    + "follower receives reach it soon; others wait for its next position write (up to "
                    + "`cdc.heartbeat_interval`).");

    public static final Option<Duration> QUORUM_TIMEOUT = define("quorum.timeout",
            ValueType.duration(Duration.ofMillis(1), Duration.ofHours(1)), Duration.ofSeconds(5), Group.RARELY_USED,
            false, "How long a commit waits for its quorum.");

    public static final Option<String> QUORUM_ON_TIMEOUT = define("quorum.on_timeout", ValueType.oneOf("error", "warn"),
            "error", Group.RARELY_USED, false,
            "When the quorum is not reached in time (the data is committed on the primary either way): `error` throws "
                    + "`QuorumTimeoutException` (SQLSTATE RQ001) carrying the commit's LSN; `warn` returns normally with an "
                    + "SQLWarning on the connection.");

    public static final Option<Duration> FAILOVER_DETECT_TIMEOUT = define("failover.detect_timeout",
            ValueType.duration(Duration.ZERO, Duration.ofMinutes(10)), Duration.ofSeconds(5), Group.FREQUENTLY_USED, false,
            "While the primary is down (or writes are blocked by a split brain), how long a statement that needs the "
                    + "primary waits for the monitor to find a new one among the configured hosts before it fails "
                    + "with 08001. The monitor finds a promoted host within about `health.down_after` x "
                    + "`monitor.interval` of the primary going down.");

    public static final Option<Boolean> FAILOVER_PROMOTE = define("failover.promote", ValueType.bool(), false,
            Group.RARELY_USED, false,
            "Let Replicant promote a replica itself (`pg_promote()` on the replica with the highest replay position) "
                    + "once the primary has been down for `failover.grace` and no other host accepts writes. The "
                    + "configured user needs `GRANT EXECUTE ON FUNCTION pg_promote TO <user>`. Off: an operator or "
                    + "tooling such as Patroni promotes, and Replicant follows.");

    public static final Option<Duration> FAILOVER_GRACE = define("failover.grace",
            ValueType.duration(Duration.ZERO, Duration.ofHours(1)), Duration.ofSeconds(10), Group.RARELY_USED, false,
            "How long the primary must have been down before `failover.promote` promotes a replica.");

    public static final Option<String> FAILOVER_SPLIT_BRAIN = define("failover.split_brain",
            ValueType.oneOf("refuse", "highest_timeline"), "refuse", Group.RARELY_USED, false,
            "When more than one configured host accepts writes: `refuse` sends writes to none of them until only one "
                    + "does; `highest_timeline` sends them to the host on the highest timeline (the latest promoted). "
                    + "Either way it is logged as an error and counted in `replicant.split_brain`.");

    public static final Option<String> PROXY_LISTEN = define("proxy.listen", ValueType.text(), "127.0.0.1:6432",
            Group.ESSENTIALS, false,
            "Address and port the proxy accepts PostgreSQL clients on. Loopback by default: a sidecar serves its own "
                    + "host; listen on another address only behind a firewall.");

    public static final Option<String> PROXY_UNIX_SOCKET_DIR = define("proxy.unix_socket_dir", ValueType.text(), null,
            Group.FREQUENTLY_USED, false,
            "A directory where the proxy also accepts clients on a Unix-domain socket, named `.s.PGSQL.<port>` after "
                    + "`proxy.listen`'s port as PostgreSQL names its own, so `psql -h <dir> -p <port>` and other libpq "
                    + "clients find it. The socket has mode 0777, as PostgreSQL's: who may connect is who may enter the "
                    + "directory, and `proxy.auth` applies as over TCP. Linux only; off when unset.");

    public static final Option<String> PROXY_AUTH = define("proxy.auth",
            ValueType.oneOf("scram-sha-256", "md5", "trust"), "scram-sha-256", Group.FREQUENTLY_USED, false,
            "How the proxy authenticates clients: `scram-sha-256` (the client must log in as `user` with `password`), "
                    + "`md5` (the same, for old clients; weaker) or `trust` (any client that can connect; only sensible "
                    + "on loopback).");

    public static final Option<String> PROXY_AUTH_QUERY = define("proxy.auth_query", ValueType.text(), null,
            Group.FREQUENTLY_USED, false,
            "Lets any role log in through the proxy: its password verifier is looked up on the primary (as `user`) "
                    + "with this query, `$1` being the role name, e.g. `SELECT usename, passwd FROM pg_shadow WHERE "
                    + "usename = $1` (from a SECURITY DEFINER function unless `user` is a superuser). Servers see each "
                    + "client's own role: the proxy logs in with the keys the client's SCRAM login proves (it never "
                    + "learns the password). Unset: only `user` may log in.");

    public static final Option<String> PROXY_AUTH_FILE = define("proxy.auth_file", ValueType.text(), null,
            Group.FREQUENTLY_USED, false,
            "A file of roles that may log in through the proxy, in PgBouncer's auth_file format (an existing "
                    + "userlist.txt works): one `\"role\" \"secret\"` line each, the secret a SCRAM-SHA-256 verifier or md5 "
                    + "hash as `pg_authid.rolpassword` holds it (the servers must hold the same one) or a plain "
                    + "password. Servers see each client's own role. Looked up before `proxy.auth_query`; read at start "
                    + "and on RELOAD. Unset: only `user` may log in (or the roles of `proxy.auth_query`).");

    public static final Option<Long> PROXY_MAX_MESSAGE_SIZE = define("proxy.max_message_size",
            ValueType.byteSize(1024, 1L << 30), 256L << 20, Group.RARELY_USED, false,
            "Largest protocol message the proxy accepts from a client; a bigger one is answered with SQLSTATE 08P01 "
                    + "and the connection closed.");

    public static final Option<String> PROXY_HTTP_LISTEN = define("proxy.http.listen", ValueType.text(),
            "127.0.0.1:9930", Group.FREQUENTLY_USED, false,
            "Address of the proxy's HTTP endpoint: `/metrics` (Prometheus), `/health` and `/ready`. `off` disables it. "
                    + "Loopback by default, like `proxy.listen`.");

    public static final Option<String> PROXY_TLS_CERT = define("proxy.tls.cert", ValueType.text(), null,
            Group.FREQUENTLY_USED, false,
            "PEM certificate (chain) the proxy presents to clients that ask for TLS (SSLRequest); read again on "
                    + "RELOAD, so a renewed certificate takes effect without a restart. Without it, TLS requests are "
                    + "declined and clients continue in clear or give up, as their sslmode says.");

    public static final Option<String> PROXY_TLS_KEY = define("proxy.tls.key", ValueType.text(), null,
            Group.FREQUENTLY_USED, false, "PEM private key (PKCS#8) of `proxy.tls.cert`.");

    public static final Option<Boolean> PROXY_TLS_REQUIRED = define("proxy.tls.required", ValueType.bool(), false,
            Group.RARELY_USED, false,
            "Refuse clients that do not use TLS (SQLSTATE 28000). Needs `proxy.tls.cert` and `proxy.tls.key`.");

    public static final Option<Integer> PROXY_THREADS = define("proxy.threads", ValueType.integer(0, 1024), 0,
            Group.RARELY_USED, false,
            "Event-loop threads serving clients; a client and its server connections share one. `0`: one per CPU core "
                    + "(more threads than cores only adds context switches).");

    public static final Option<String> PROXY_POOL_MODE = define("proxy.pool_mode",
            ValueType.oneOf("session", "transaction"), "session", Group.FREQUENTLY_USED, false,
            "`session`: each client has server connections of its own, opened as it needs them. `transaction`: "
                    + "clients share a pool of server connections, each one held by a client for one transaction "
                    + "(or one statement outside a transaction), so many clients need few server sessions. Session "
                    + "settings and prepared statements follow the client; a client that creates state that cannot "
                    + "follow it (temp tables, LISTEN, SQL PREPARE, cursors WITH HOLD, advisory locks, set_config) "
                    + "keeps its server connections from then on, as in `session` mode.");

    public static final Option<Integer> PROXY_POOL_SIZE = define("proxy.pool_size", ValueType.integer(1, 100_000), 20,
            Group.FREQUENTLY_USED, false,
            "In `transaction` mode: most server connections per server, per proxy thread (`proxy.threads`), for "
                    + "clients that log in with the same user, database and startup parameters (`application_name`, "
                    + "`client_encoding`, `DateStyle`, `extra_float_digits`, `IntervalStyle` and `TimeZone` aside: "
                    + "each client's are set on the connection it borrows). A client that needs one when all are busy "
                    + "waits for one to be released, up to `proxy.pool_wait_timeout`.");

    public static final Option<Duration> PROXY_POOL_WAIT_TIMEOUT = define("proxy.pool_wait_timeout",
            ValueType.duration(Duration.ofMillis(1), Duration.ofHours(1)), Duration.ofSeconds(30), Group.RARELY_USED,
            false,
            "In `transaction` mode: how long a client's statement waits for a server connection when the pool is "
                    + "busy; then it fails with SQLSTATE 53300 and the client may try again.");

    public static final Option<Duration> PROXY_SERVER_CHECK_DELAY = define("proxy.server_check_delay",
            ValueType.duration(Duration.ZERO, Duration.ofHours(24)), Duration.ofSeconds(30), Group.RARELY_USED, false,
            "In `transaction` mode: a pooled server connection idle this long is checked (an empty query) before a "
                    + "client gets it; one that does not answer within `pool.connect_timeout` (a server or network "
                    + "gone silent) is closed and the client gets a new one. `0s`: never checked.");

    public static final Option<Boolean> PROXY_DEFER_BEGIN = define("proxy.defer_begin", ValueType.bool(), true,
            Group.RARELY_USED, false,
            "Answer a client's plain `BEGIN` (simple query) at once and send it to the server together with the "
                    + "transaction's first statement, saving the server a round trip per transaction (and, in "
                    + "`transaction` mode, holding no server connection until there is something to run); a "
                    + "transaction that ends before its first statement never reaches a server. The one visible "
                    + "difference: `now()` is the time of that first statement. `false`: every BEGIN goes to the "
                    + "server when the client sends it.");

    public static final Option<Integer> PROXY_MAX_CLIENTS = define("proxy.max_clients", ValueType.integer(1, 1_000_000),
            1000, Group.FREQUENTLY_USED, false,
            "Client connections the proxy accepts at once; one more is refused with SQLSTATE 53300 "
                    + "(too_many_connections).");

    public static final Option<Duration> PROXY_IDLE_TIMEOUT = define("proxy.idle_timeout",
            ValueType.duration(Duration.ZERO, Duration.ofDays(7)), Duration.ZERO, Group.FREQUENTLY_USED, false,
            "A client idle outside a transaction this long is disconnected with SQLSTATE 57P05. `0s`: never.");

    public static final Option<Duration> PROXY_IDLE_IN_TRANSACTION_TIMEOUT = define(
            "proxy.idle_in_transaction_timeout", ValueType.duration(Duration.ZERO, Duration.ofDays(1)), Duration.ZERO,
            Group.FREQUENTLY_USED, false,
            "A client idle inside a transaction this long is disconnected with SQLSTATE 25P03 and its transaction "
                    + "rolled back, so it releases its locks. `0s`: never.");

    public static final Option<Duration> PROXY_SHUTDOWN_TIMEOUT = define("proxy.shutdown_timeout",
            ValueType.duration(Duration.ZERO, Duration.ofHours(1)), Duration.ofSeconds(30), Group.RARELY_USED, false,
            "On shutdown the proxy stops accepting clients and lets open transactions finish for this long; then it "
                    + "closes every connection (rolling back what is still open).");

    public static final Option<String> CDC_SLOT = define("cdc.slot", ValueType.text(), "replicant",
            Group.FREQUENTLY_USED, false,
            "Logical replication slot the CDC pipeline reads from on the primary (created if missing). One per "
                    + "pipeline; it also names the pipeline's row in each follower's position table.");

    public static final Option<String> CDC_PUBLICATION = define("cdc.publication", ValueType.text(), "replicant",
            Group.RARELY_USED, false, "Publication the CDC pipeline's slot decodes (pgoutput).");

    public static final Option<String> CDC_PUBLICATION_AUTOCREATE = define("cdc.publication_autocreate",
            ValueType.oneOf("filtered", "all_tables", "disabled", "no_tables"), "filtered", Group.RARELY_USED, false,
            "How a missing publication is created: `filtered` (the tables `cdc.tables` selects), `all_tables` (needs a "
                    + "superuser), `disabled` (it must exist) or `no_tables`. Debezium's `publication.autocreate.mode`.");

    public static final Option<List<String>> CDC_TABLES = define("cdc.tables", ValueType.patternList(), List.of(),
            Group.ESSENTIALS, false,
            "Source tables to stream, as regular expressions over `schema.table`; empty: every table. Followers can "
                    + "narrow this further with their own `tables`.");

    public static final Option<List<String>> CDC_EXCLUDE_TABLES = define("cdc.exclude_tables",
            ValueType.patternList(), List.of(), Group.FREQUENTLY_USED, false,
            "Source tables never streamed (regular expressions over `schema.table`), whatever `cdc.tables` says.");

    public static final Option<String> CDC_SNAPSHOT_MODE = define("cdc.snapshot_mode",
            ValueType.oneOf("initial", "no_data", "always"), "initial", Group.FREQUENTLY_USED, false,
            "`initial`: copy the tables' current rows to the followers when one of them has nothing yet (its stored "
                    + "position is empty), then stream; `no_data`: only stream; `always`: copy on every start.");

    public static final Option<Duration> CDC_POLL_INTERVAL = define("cdc.poll_interval",
            ValueType.duration(Duration.ofMillis(1), Duration.ofMinutes(1)), Duration.ofMillis(25),
            Group.FREQUENTLY_USED, false,
            "How long the pipeline waits for more changes when it has none. It bounds the added latency of a change "
                    + "that arrives while idle; shorter costs idle CPU.");

    public static final Option<Integer> CDC_MAX_BATCH_SIZE = define("cdc.max_batch_size",
            ValueType.integer(1, 1_000_000), 2048, Group.RARELY_USED, false,
            "Most changes handed to the followers at once; whole source transactions in one batch are applied in one "
                    + "follower transaction.");

    public static final Option<Integer> CDC_TRANSACTION_PART_SIZE = define("cdc.transaction_part_size",
            ValueType.integer(1, 10_000_000), 10_000, Group.RARELY_USED, false,
            "Most changes of one source transaction held in memory: a larger transaction goes to the followers in "
                    + "parts of this size, written into one follower transaction that commits only at its end, so "
                    + "followers still never show part of it.");

    public static final Option<Duration> CDC_CONFIRM_INTERVAL = define("cdc.confirm_interval",
            ValueType.duration(Duration.ZERO, Duration.ofHours(1)), Duration.ofSeconds(1), Group.RARELY_USED, false,
            "How often the position every follower has committed is confirmed to the slot, which lets the primary "
                    + "recycle WAL. After a crash the slot resends at most this much, which the followers skip.");

    public static final Option<Duration> CDC_HEARTBEAT_INTERVAL = define("cdc.heartbeat_interval",
            ValueType.duration(Duration.ZERO, Duration.ofHours(1)), Duration.ofSeconds(10), Group.RARELY_USED, false,
            "While the streamed tables are quiet, the pipeline writes a row to `replicant_cdc_heartbeat` on the "
                    + "primary this often so the slot's position moves and the primary does not keep WAL for "
                    + "it. `0s`: off.");

    public static final Option<String> CDC_HTTP_LISTEN = define("cdc.http.listen", ValueType.text(), "127.0.0.1:9931",
            Group.FREQUENTLY_USED, false,
            "Address of the CDC pipeline's HTTP endpoint: `/metrics` (Prometheus), `/health`, `/ready`, `/status`, and "
                    + "`POST /followers/<name>/pause` and `/resume`. `off` disables it. Loopback by default.");

    public static final Option<Duration> CDC_STATUS_INTERVAL = define("cdc.status_interval",
            ValueType.duration(Duration.ofMillis(100), Duration.ofHours(1)), Duration.ofSeconds(5), Group.RARELY_USED,
            false, "How often the pipeline reads the primary's WAL position and its slot, for the lag and slot metrics.");

    public static final Option<Integer> CDC_RETRY_ATTEMPTS = define("cdc.retry.attempts", ValueType.integer(0, 100),
            3, Group.RARELY_USED, false,
            "How often a follower transaction that failed with a transient error (deadlock, serialization failure, "
                    + "lock timeout) is retried at once before the follower is treated as down.");

    public static final Option<Duration> CDC_RETRY_BACKOFF = define("cdc.retry.backoff",
            ValueType.duration(Duration.ofMillis(10), Duration.ofHours(1)), Duration.ofSeconds(1), Group.RARELY_USED,
            false,
            "First wait before a down follower is tried again; it doubles on every failure up to "
                    + "`cdc.retry.max_backoff`. The other followers go on meanwhile.");

    public static final Option<Duration> CDC_RETRY_MAX_BACKOFF = define("cdc.retry.max_backoff",
            ValueType.duration(Duration.ofMillis(10), Duration.ofHours(1)), Duration.ofSeconds(30), Group.RARELY_USED,
            false, "Longest wait between attempts to reach a down follower.");

    private ReplicantOptions() {
    }

    private static <T> Option<T> define(String name, ValueType<T> type, T defaultValue, Group group, boolean secret,
            String description) {
        Option<T> option = new Option<>(name, type, defaultValue, group, secret, description);
        if (BY_NAME.putIfAbsent(name, option) != null) {
            throw new IllegalStateException("duplicate option " + name);
        }
        return option;
    }

    /** Every option, in documentation order. */
    public static List<Option<?>> all() {
        return List.copyOf(BY_NAME.values());
    }

    /** The option with this exact name, or {@code null}. */
    public static Option<?> byName(String name) {
        return BY_NAME.get(name);
    }
}
