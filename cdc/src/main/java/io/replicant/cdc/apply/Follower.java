package io.replicant.cdc.apply;

import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.replicant.cdc.event.Change;
import io.replicant.cdc.event.Lsn;
import io.replicant.cdc.event.Recopy;
import io.replicant.cdc.event.SourceTransaction;
import io.replicant.cdc.event.TableId;
import io.replicant.config.FollowerSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One follower database and what it has applied. Source transactions are applied in order, several whole ones per
 * follower transaction, and the follower's position (the last applied commit's LSN) is stored in its own
 * {@code replicant_cdc_position} table in that same transaction: a redelivered transaction at or below it is
 * skipped, so every change takes effect exactly once.
 *
 * <p>Its methods are synchronized: changes are applied on the pipeline's threads while reconnects and operator
 * commands arrive on others.
 */
public final class Follower implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Follower.class);
    private static final String POSITION_TABLE = FollowerSpec.POSITION_TABLE;
    private static final long IDLE_POSITION_INTERVAL_NANOS = 1_000_000_000L;

    /** Where a follower stands. */
    public enum State {
        /** Receiving changes. */
        ACTIVE,
        /** Unreachable or failing transiently; retried with backoff while the others go on. */
        DOWN,
        /**
         * Reachable again but behind: it takes nothing until the source restarts from the acknowledged position,
         * so it never applies a later transaction before the ones it missed.
         */
        RECONNECTED,
        /** Paused by the operator: takes nothing until resumed; the slot keeps the WAL from its position. */
        PAUSED,
        /** A change it cannot take; it stays stopped until the operator fixes it and restarts the pipeline. */
        STOPPED
    }

    private final FollowerSpec spec;
    private final String slot;
    private final Dialect dialect;
    private final TableResolver tables;
    private final List<Pattern> include;
    private final List<Pattern> exclude;
    private final int retryAttempts;
    private final Counter appliedChanges;
    private final Counter appliedTransactions;
    private final Counter mergedChanges;
    private final Counter errors;
    private final Counter retries;
    private final Timer applyLatency;

    private Connection connection;
    private ChangeWriter writer;
    private volatile State state = State.DOWN;
    /** The table whose re-copy is open in the follower transaction, or null. */
    private TableId recopying;
    private long recopiedRows;
    /** The source transaction whose parts are open in the follower transaction, or 0. */
    private long partOf;
    private long partChanges;
    private volatile long position;
    private volatile Instant positionTime;
    private volatile String lastError;
    private long lastPositionWrite;

    public Follower(FollowerSpec spec, String slot, SourceCatalog catalog, int retryAttempts, MeterRegistry registry) {
        this.spec = spec;
        this.slot = slot;
        this.dialect = Dialect.of(spec);
        this.tables = new TableResolver(spec, dialect, catalog);
        this.include = spec.tables().stream().map(Pattern::compile).toList();
        this.exclude = spec.excludeTables().stream().map(Pattern::compile).toList();
        this.retryAttempts = retryAttempts;
        this.appliedChanges = Counter.builder("replicant.cdc.changes").tag("follower", spec.name())
                .description("Row changes applied").register(registry);
        this.appliedTransactions = Counter.builder("replicant.cdc.transactions").tag("follower", spec.name())
                .description("Source transactions applied").register(registry);
        this.mergedChanges = Counter.builder("replicant.cdc.changes.merged").tag("follower", spec.name())
                .description("Row changes not written because a later one in the same follower transaction replaced "
                        + "them").register(registry);
        this.errors = Counter.builder("replicant.cdc.errors").tag("follower", spec.name())
                .description("Failed follower transactions").register(registry);
        this.retries = Counter.builder("replicant.cdc.retries").tag("follower", spec.name())
                .description("Follower transactions retried after a transient error").register(registry);
        this.applyLatency = Timer.builder("replicant.cdc.apply.latency").tag("follower", spec.name())
                .description("Source commit to follower commit").publishPercentileHistogram().register(registry);
        registry.gauge("replicant.cdc.applied.lsn", List.of(Tag.of("follower", spec.name())), this,
                f -> f.position);
    }

    public String name() {
        return spec.name();
    }

    public State state() {
        return state;
    }

    /** The LSN of the last source commit this follower has; 0 before any. */
    public long position() {
        return position;
    }

    /** When that commit happened on the source, or null. */
    public Instant positionTime() {
        return positionTime;
    }

    /** Why the follower is down or stopped, or null. */
    public String lastError() {
        return lastError;
    }

    /**
     * Connects, creates the position table and this pipeline's row if missing, and reads the position. The follower
     * is then {@link State#RECONNECTED} until {@link #resume()}.
     *
     * @throws SQLException when the follower cannot be reached; it stays {@link State#DOWN}
     */
    public synchronized void connect() throws SQLException {
        closeConnection();
        Properties properties = dialect.connectionProperties();
        if (spec.user() != null) {
            properties.setProperty("user", spec.user());
        }
        if (spec.password() != null) {
            properties.setProperty("password", spec.password());
        }
        Connection c = DriverManager.getConnection(spec.url(), properties);
        try {
            dialect.prepare(c, spec.url());
            c.setAutoCommit(false);
            try (Statement statement = c.createStatement()) {
                statement.execute("CREATE TABLE IF NOT EXISTS " + POSITION_TABLE + " (slot VARCHAR(200) PRIMARY KEY, "
                        + "lsn BIGINT NOT NULL, commit_time TIMESTAMP WITH TIME ZONE, "
                        + "applied_at TIMESTAMP WITH TIME ZONE)");
            }
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO " + POSITION_TABLE + " (slot, lsn) "
                    + "SELECT ?, 0 WHERE NOT EXISTS (SELECT 1 FROM " + POSITION_TABLE + " WHERE slot = ?)")) {
                insert.setString(1, slot);
                insert.setString(2, slot);
                insert.executeUpdate();
            }
            try (PreparedStatement select = c.prepareStatement("SELECT lsn, commit_time FROM " + POSITION_TABLE
                    + " WHERE slot = ?")) {
                select.setString(1, slot);
                try (ResultSet rs = select.executeQuery()) {
                    rs.next();
                    position = rs.getLong(1);
                    Timestamp time = rs.getTimestamp(2);
                    positionTime = time == null ? null : time.toInstant();
                }
            }
            c.commit();
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        connection = c;
        writer = new ChangeWriter(c, dialect, spec.name());
        tables.clear();
        lastError = null;
        state = State.RECONNECTED;
        LOG.info("{}: connected at position {}", spec, Lsn.format(position));
    }

    /** After a (re)connect, once the source will deliver from a position at or below this follower's. */
    public synchronized void resume() {
        if (state == State.RECONNECTED) {
            state = State.ACTIVE;
        }
    }

    /**
     * Applies what it has not yet of {@code units}, in order.
     *
     * @return how many units, from the first, this follower now has (applied, or nothing in them for it)
     */
    public synchronized int apply(List<SourceTransaction> units) {
        if (state != State.ACTIVE) {
            return 0;
        }
        if (recopying != null || partOf != 0 || units.stream().anyMatch(u -> u.recopy() != null || u.isPart())) {
            return applyInOrder(units);
        }
        List<SourceTransaction> work = new ArrayList<>(units.size());
        int redelivered = 0;
        for (SourceTransaction unit : units) {
            if (alreadyHas(unit)) {
                redelivered += unit.changes().isEmpty() ? 0 : 1;
            } else {
                SourceTransaction mine = mine(unit);
                if (mine != null) {
                    work.add(mine);
                }
            }
        }
        if (redelivered > 0) {
            LOG.info("{}: skipped {} redelivered transaction(s) it already has (position {})", spec, redelivered,
                    Lsn.format(position));
        }
        if (work.isEmpty()) {
            recordIdlePosition(units);
            return units.size();
        }
        for (int attempt = 0; ; attempt++) {
            try {
                applyTogether(work);
                return units.size();
            } catch (SQLException e) {
                rollbackQuietly();
                errors.increment();
                ErrorKind kind = ErrorKind.of(e);
                if (kind == ErrorKind.TRANSIENT && attempt < retryAttempts) {
                    retries.increment();
                    LOG.info("{}: transient error, retrying: {}", spec, describe(e));
                    continue;
                }
                if (kind != ErrorKind.REJECTED) {
                    goDown(describe(e));
                    return 0;
                }
                LOG.info("{}: {} transaction(s) applied together failed ({}); applying them one change at a time to "
                        + "find the change it rejects", spec, work.size(), describe(e));
                break;
            } catch (ApplyException e) {
                rollbackQuietly();
                errors.increment();
                break;
            }
        }
        return applyOneByOne(units);
    }

    /**
     * Units in order, one at a time, where some span several units in one follower transaction that stays open
     * between them: the parts of a large source transaction, committed (with its position) by the unit that ends
     * it, or rolled back there if the follower already had it; and a re-copy's chunks, from the one that begins it
     * (which deletes the table's rows) to the one that ends it. Such units carry no position of their own: if the
     * pipeline stops before the end, the follower rolls back and keeps what it had.
     */
    private int applyInOrder(List<SourceTransaction> units) {
        for (int i = 0; i < units.size(); i++) {
            SourceTransaction unit = units.get(i);
            if (recopying != null && unit.recopy() == null) {
                abandonSpan("the re-copy of " + recopying, unit + " arrived before it ended");
            }
            if (partOf != 0 && unit.id() != partOf) {
                // The source never interleaves transactions, so this one was cut off: applying what follows, with
                // its position, could make the redelivered transaction look already applied. Start over from the
                // acknowledged position instead, which redelivers it from its first part.
                abandonSpan("transaction " + partOf, unit + " arrived before its end");
                goDown("a large transaction was cut off by another; reconnecting to receive it again whole");
                return i;
            }
            boolean applied;
            if (unit.recopy() != null) {
                applied = applyRecopyChunk(unit, unit.recopy());
            } else if (unit.isPart() || partOf != 0) {
                applied = applyPart(unit);
            } else {
                applied = apply(List.of(unit)) > 0;
            }
            if (!applied) {
                return i;
            }
        }
        return units.size();
    }

    private boolean applyPart(SourceTransaction unit) {
        if (partOf == 0) {
            partChanges = 0;
        }
        partOf = unit.id();
        if (!unit.isPart() && alreadyHas(unit)) {
            rollbackQuietly();
            partOf = 0;
            LOG.info("{}: skipped redelivered large transaction {}: it already has it (position {})", spec, unit.id(),
                    Lsn.format(position));
            return true;
        }
        SourceTransaction own = mine(unit);
        try {
            if (own != null) {
                write(own);
            }
            if (unit.isPart()) {
                partChanges += own != null ? own.changes().size() : 0;
                return true;
            }
            partOf = 0;
            commit(List.of(own != null ? own
                    : new SourceTransaction(unit.id(), unit.commitLsn(), unit.commitTime(), List.of())));
            appliedChanges.increment(partChanges); // the parts'; commit counted the end's
            return true;
        } catch (SQLException | ApplyException e) {
            return failSpan("transaction " + unit.id(), e);
        }
    }

    private boolean applyRecopyChunk(SourceTransaction unit, Recopy recopy) {
        if (!selects(recopy.table()) || !recopy.begins() && !recopy.table().equals(recopying)) {
            return true; // not this follower's table, or the rest of a re-copy it missed the start of (paused or down)
        }
        try {
            if (recopy.begins()) {
                if (recopying != null) {
                    abandonSpan("the re-copy of " + recopying, "a new one began");
                }
                recopying = recopy.table();
                recopiedRows = 0;
                writer.deleteAll(tables.resolve(connection, recopy.table(), Set.of()));
            }
            write(unit);
            recopiedRows += unit.changes().size();
            if (recopy.ends()) {
                recopying = null;
                commit(List.of(unit));
                LOG.info("{}: replaced the rows of {} with the source's {} rows", spec, recopy.table(), recopiedRows);
            }
            return true;
        } catch (SQLException | ApplyException e) {
            return failSpan("the re-copy of " + recopy.table(), e);
        }
    }

    /**
     * Writes a unit into the open transaction without committing. With {@code on_error: skip_and_log} each change
     * goes under a savepoint, since a rejected one cannot be found again by replaying the whole span.
     */
    private void write(SourceTransaction unit) throws SQLException, ApplyException {
        Map<TableId, TargetTable> targets = resolve(List.of(unit));
        if (spec.onError() == FollowerSpec.OnError.SKIP_AND_LOG) {
            writeEach(unit, targets);
            return;
        }
        for (Change change : unit.changes()) {
            writer.write(change, targets.get(change.table()), ChangeWriter.Batching.BATCHED);
        }
        writer.flush();
    }

    /** A span failed: roll it back, then go down (transient) or stop (the follower rejects a change). */
    private boolean failSpan(String span, Exception e) {
        String problem = e instanceof SQLException sql ? describe(sql) : e.getMessage();
        abandonSpan(span, problem);
        errors.increment();
        if (e instanceof SQLException sql && ErrorKind.of(sql) != ErrorKind.REJECTED) {
            goDown(problem);
        } else {
            stop(span + ": " + problem);
        }
        return false;
    }

    private void abandonSpan(String span, String why) {
        rollbackQuietly();
        if (recopying != null) {
            LOG.error("{}: {} was rolled back ({}); the follower keeps the table's rows as they were; ask for the "
                    + "re-copy again", spec, span, why);
        } else {
            LOG.warn("{}: {} was rolled back ({}); it is applied when delivered again", spec, span, why);
        }
        recopying = null;
        partOf = 0;
    }

    /**
     * Moves the stored position past source transactions with nothing for this follower (other tables, the
     * heartbeat), at most once a second, so status and lag stay true while its tables are quiet.
     */
    private void recordIdlePosition(List<SourceTransaction> units) {
        SourceTransaction last = null;
        for (SourceTransaction unit : units) {
            if (unit.id() != 0 && unit.commitLsn() > position) {
                last = unit;
            }
        }
        if (last == null || System.nanoTime() - lastPositionWrite < IDLE_POSITION_INTERVAL_NANOS) {
            return;
        }
        try {
            commit(List.of(new SourceTransaction(last.id(), last.commitLsn(), last.commitTime(), List.of())));
        } catch (SQLException e) {
            // Only bookkeeping: the next change will store the position anyway, or meet the same problem.
            rollbackQuietly();
            LOG.debug("{}: storing the idle position failed: {}", spec, e.toString());
        }
    }

    /** A redelivered transaction at or below the stored position (snapshot chunks are always applied). */
    private boolean alreadyHas(SourceTransaction unit) {
        return !unit.isSnapshotChunk() && unit.commitLsn() <= position;
    }

    /** The unit with only the changes of tables this follower takes, or null when there are none. */
    private SourceTransaction mine(SourceTransaction unit) {
        List<Change> mine = unit.changes().stream().filter(c -> selects(c.table())).toList();
        return mine.isEmpty() ? null
                : new SourceTransaction(unit.id(), unit.commitLsn(), unit.commitTime(), mine, unit.recopy());
    }

    /** Whether this follower receives changes of {@code table}. */
    boolean selects(TableId table) {
        String name = table.toString();
        return (include.isEmpty() || include.stream().anyMatch(p -> p.matcher(name).matches()))
                && exclude.stream().noneMatch(p -> p.matcher(name).matches());
    }

    /**
     * Writes the work's changes and commits them, with its position, in one follower transaction. They are
     * grouped by table when no foreign key involves any of its tables: each table's changes keep their order, and
     * the whole lot commits at once, so the outcome is the same, but consecutive changes to one table go to the
     * server together instead of one round trip each. Of a {@link TargetTable#reorderable() reorderable} table,
     * only the {@link NetChanges net} changes are written, its upserts several rows per statement.
     */
    private void applyTogether(List<SourceTransaction> work) throws SQLException, ApplyException {
        Map<TableId, TargetTable> targets = resolve(work);
        List<Change> changes = new ArrayList<>();
        work.forEach(unit -> changes.addAll(unit.changes()));
        int merged = 0;
        if (targets.values().stream().anyMatch(TargetTable::related)) {
            for (Change change : changes) {
                writer.write(change, targets.get(change.table()), ChangeWriter.Batching.BATCHED);
            }
        } else {
            Map<TableId, List<Change>> byTable = new LinkedHashMap<>();
            for (Change change : changes) {
                byTable.computeIfAbsent(change.table(), t -> new ArrayList<>()).add(change);
            }
            for (Map.Entry<TableId, List<Change>> entry : byTable.entrySet()) {
                TargetTable table = targets.get(entry.getKey());
                boolean net = table.reorderable();
                List<Change> written = net ? NetChanges.of(entry.getValue()) : entry.getValue();
                for (Change change : written) {
                    writer.write(change, table, net ? ChangeWriter.Batching.MULTI_ROW : ChangeWriter.Batching.BATCHED);
                }
                merged += entry.getValue().size() - written.size();
            }
        }
        writer.flush();
        commit(work);
        mergedChanges.increment(merged);
    }

    /**
     * After a rejected change: each unit in its own follower transaction, each change under a savepoint, to find
     * the change the follower rejects and then stop or skip it as {@code on_error} says.
     */
    private int applyOneByOne(List<SourceTransaction> units) {
        for (int i = 0; i < units.size(); i++) {
            SourceTransaction own = alreadyHas(units.get(i)) ? null : mine(units.get(i));
            if (own == null) {
                continue;
            }
            try {
                writeEach(own, resolve(List.of(own)));
                commit(List.of(own));
            } catch (ApplyException e) {
                rollbackQuietly();
                stop("source " + own + ": " + e.getMessage());
                return i;
            } catch (SQLException e) {
                rollbackQuietly();
                if (ErrorKind.of(e) == ErrorKind.REJECTED) {
                    stop("source " + own + ": " + describe(e));
                } else {
                    goDown(describe(e));
                }
                return i;
            }
        }
        return units.size();
    }

    /** Each change under a savepoint: a rejected one is skipped and logged, or stops the follower, per on_error. */
    private void writeEach(SourceTransaction own, Map<TableId, TargetTable> targets) throws SQLException,
            ApplyException {
        for (Change change : own.changes()) {
            Savepoint savepoint = connection.setSavepoint();
            try {
                writer.write(change, targets.get(change.table()), ChangeWriter.Batching.NONE);
                connection.releaseSavepoint(savepoint);
            } catch (SQLException | ApplyException e) {
                if (e instanceof SQLException sql && ErrorKind.of(sql) != ErrorKind.REJECTED) {
                    throw sql;
                }
                String problem = e instanceof SQLException sql ? describe(sql) : e.getMessage();
                if (spec.onError() != FollowerSpec.OnError.SKIP_AND_LOG) {
                    throw new ApplyException(problem, change);
                }
                connection.rollback(savepoint);
                LOG.error("{}: skipped {} of source {} (on_error: skip_and_log): {}", spec, change, own, problem);
            }
        }
    }

    /** Resolves (and if allowed creates or extends) every table the work touches, before any data is written. */
    private Map<TableId, TargetTable> resolve(List<SourceTransaction> work) throws SQLException, ApplyException {
        Map<TableId, Set<String>> columnsByTable = new HashMap<>();
        for (SourceTransaction unit : work) {
            for (Change change : unit.changes()) {
                Set<String> columns = columnsByTable.computeIfAbsent(change.table(), t -> new LinkedHashSet<>());
                columns.addAll(change.key().keySet());
                if (change.after() != null) {
                    columns.addAll(change.after().keySet());
                }
            }
        }
        Map<TableId, TargetTable> resolved = new HashMap<>();
        for (Map.Entry<TableId, Set<String>> entry : columnsByTable.entrySet()) {
            resolved.put(entry.getKey(), tables.resolve(connection, entry.getKey(), entry.getValue()));
        }
        return resolved;
    }

    private void commit(List<SourceTransaction> work) throws SQLException {
        SourceTransaction last = null;
        int changes = 0;
        for (SourceTransaction unit : work) {
            changes += unit.changes().size();
            if (unit.commitLsn() > position && (last == null || unit.commitLsn() > last.commitLsn())) {
                last = unit;
            }
        }
        if (last != null) {
            PreparedStatement update = writer.prepared("UPDATE " + POSITION_TABLE
                    + " SET lsn = ?, commit_time = ?, applied_at = CURRENT_TIMESTAMP WHERE slot = ?");
            update.setLong(1, last.commitLsn());
            update.setTimestamp(2, Timestamp.from(last.commitTime()));
            update.setString(3, slot);
            update.executeUpdate();
            lastPositionWrite = System.nanoTime();
        }
        connection.commit();
        writer.committed();
        Instant now = Instant.now();
        appliedChanges.increment(changes);
        for (SourceTransaction unit : work) {
            if (!unit.isSnapshotChunk() && !unit.changes().isEmpty()) {
                appliedTransactions.increment();
                applyLatency.record(Duration.between(unit.commitTime(), now));
            }
        }
        if (last != null) {
            position = last.commitLsn();
            positionTime = last.commitTime();
        }
    }

    private void goDown(String problem) {
        state = State.DOWN;
        lastError = problem;
        closeConnection();
        LOG.warn("{} is down, retrying with backoff while the others go on: {}", spec, problem);
    }

    private void stop(String problem) {
        state = State.STOPPED;
        lastError = problem;
        LOG.error("{} stopped: {}. The other followers go on; the slot keeps the WAL from this follower's position "
                + "{} until it is fixed and the pipeline restarted.", spec, problem, Lsn.format(position));
    }

    private static String describe(SQLException e) {
        SQLException cause = e instanceof BatchUpdateException && e.getNextException() != null ? e.getNextException() : e;
        return cause.getMessage() + " (SQLSTATE " + cause.getSQLState() + ")";
    }

    private void rollbackQuietly() {
        try {
            if (connection != null && !connection.isClosed()) {
                connection.rollback();
            }
        } catch (SQLException e) {
            LOG.debug("{}: rollback failed: {}", spec, e.toString());
        }
    }

    private void closeConnection() {
        if (recopying != null || partOf != 0) {
            abandonSpan(recopying != null ? "the re-copy of " + recopying : "transaction " + partOf,
                    "the connection closes");
        }
        if (writer != null) {
            writer.close();
            writer = null;
        }
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                LOG.debug("{}: close failed: {}", spec, e.toString());
            }
            connection = null;
        }
    }

    /** Stops taking changes until the pipeline resumes it. */
    public synchronized void pause() {
        state = State.PAUSED;
        lastError = null;
        closeConnection();
        LOG.info("{} paused", spec);
    }

    @Override
    public synchronized void close() {
        closeConnection();
    }
}
