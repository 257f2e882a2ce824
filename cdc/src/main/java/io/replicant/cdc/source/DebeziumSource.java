package io.replicant.cdc.source;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import io.debezium.embedded.Connect;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import io.debezium.engine.format.ChangeEventFormat;
import io.replicant.cdc.event.SourceTransaction;
import io.replicant.cdc.event.TableId;
import io.replicant.config.HostSpec;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The primary's committed changes, read with Debezium's embedded engine from a pgoutput logical replication slot,
 * handed to a {@link Sink} in whole transactions. Debezium and Kafka Connect types stay inside this package.
 *
 * <p>Only what the sink reports as applied everywhere is acknowledged, in order: the slot's confirmed position
 * never passes a change some follower lacks. Every start streams from there.
 */
public final class DebeziumSource implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DebeziumSource.class);
    private static final long STOP_TIMEOUT_SECONDS = 60;
    /** Written by {@code heartbeat.action.query} so the slot advances while the streamed tables are quiet. */
    public static final TableId HEARTBEAT_TABLE = new TableId("public", "replicant_cdc_heartbeat");
    /** Debezium's signal table: a row asking for a table to be copied again arrives through the stream. */
    public static final TableId SIGNAL_TABLE = new TableId("public", "replicant_cdc_signal");

    /** Receives units in source order and says how many of them, from the first, every follower has. */
    public interface Sink {
        int accept(List<SourceTransaction> units) throws InterruptedException;
    }

    private final Properties properties;
    private final BooleanSupplier snapshotNeeded;
    private final Sink sink;
    private final Consumer<Throwable> onFailure;
    private final int partSize;
    private volatile Run current;
    private boolean closed;

    /**
     * @param snapshotNeeded asked at each start: whether to copy the tables' rows before streaming
     * @param onFailure      called when the engine stops on its own with an error (never on {@link #close()}); the
     *                       caller restarts it
     */
    public DebeziumSource(ReplicantConfig config, BooleanSupplier snapshotNeeded, Sink sink,
            Consumer<Throwable> onFailure) {
        this.properties = properties(config);
        this.snapshotNeeded = snapshotNeeded;
        this.sink = sink;
        this.onFailure = onFailure;
        this.partSize = config.get(ReplicantOptions.CDC_TRANSACTION_PART_SIZE);
    }

    /** Starts reading; does nothing once closed (a restart scheduled before the close may still call it). */
    public synchronized void start() {
        if (closed) {
            return;
        }
        Run run = new Run();
        current = run;
        run.start();
    }

    /**
     * Stops reading and starts again from the acknowledged position: how a follower that was down catches up.
     *
     * @param betweenRuns runs when the old engine has stopped and before the new one delivers anything
     */
    public synchronized void restart(Runnable betweenRuns) {
        stopCurrent();
        betweenRuns.run();
        start();
    }

    @Override
    public synchronized void close() {
        closed = true;
        stopCurrent();
    }

    private void stopCurrent() {
        Run run = current;
        current = null;
        if (run != null) {
            run.stop();
        }
    }

    /** One engine instance: its own assembler, since a restart begins again at a transaction boundary. */
    private final class Run implements DebeziumEngine.ChangeConsumer<RecordChangeEvent<SourceRecord>> {
        private final TransactionAssembler<RecordChangeEvent<SourceRecord>> assembler =
                new TransactionAssembler<>(SIGNAL_TABLE, Set.of(HEARTBEAT_TABLE, SIGNAL_TABLE), partSize);
        private final CountDownLatch finished = new CountDownLatch(1);
        private DebeziumEngine<RecordChangeEvent<SourceRecord>> engine;
        private volatile boolean stopping;
        /** False once a unit was not acknowledged: later ones must not be either, until a restart. */
        private boolean acknowledging = true;

        void start() {
            Properties settings = new Properties();
            settings.putAll(properties);
            boolean snapshot = snapshotNeeded.getAsBoolean();
            settings.setProperty("snapshot.mode", snapshot ? "always" : "no_data");
            LOG.info("starting the change source from slot {} ({})", settings.getProperty("slot.name"),
                    snapshot ? "copying the tables first" : "streaming only");
            engine = DebeziumEngine.create(ChangeEventFormat.of(Connect.class))
                    .using(settings)
                    .notifying(this)
                    .using((success, message, error) -> {
                        finished.countDown();
                        if (!stopping && (!success || error != null)) {
                            onFailure.accept(error != null ? error : new IllegalStateException(message));
                        }
                    })
                    .build();
            Thread thread = new Thread(engine, "replicant-cdc-source");
            thread.setDaemon(true);
            thread.start();
        }

        /** Stops the engine and waits for it, through interrupts too: an engine left running keeps the slot. */
        void stop() {
            stopping = true;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STOP_TIMEOUT_SECONDS);
            boolean closing = false;
            boolean interrupted = false;
            while (finished.getCount() > 0 && System.nanoTime() - deadline < 0) {
                closing = closing || closeEngine();
                try {
                    finished.await(50, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (finished.getCount() > 0) {
                LOG.warn("the change source did not stop within {} s", STOP_TIMEOUT_SECONDS);
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

        /**
         * Asks the engine to stop; false when it refused because its task is still starting. Left running then, the
         * task would go on to take the replication slot, and a pipeline started next would wait on it for good.
         */
        private boolean closeEngine() {
            try {
                engine.close();
                return true;
            } catch (IllegalStateException e) {
                return false; // still starting, or already stopped (then the completion callback has run or will)
            } catch (Exception e) {
                LOG.warn("stopping the change source failed: {}", e.toString());
                return true;
            }
        }

        @Override
        public void handleBatch(List<RecordChangeEvent<SourceRecord>> records,
                DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer) throws InterruptedException {
            List<TransactionAssembler.Unit<RecordChangeEvent<SourceRecord>>> units = new ArrayList<>();
            for (RecordChangeEvent<SourceRecord> record : records) {
                units.addAll(assembler.add(record, record.record()));
            }
            units.addAll(assembler.endOfBatch());
            if (!units.isEmpty() && !stopping) {
                List<SourceTransaction> transactions = new ArrayList<>(units.size());
                units.forEach(u -> transactions.add(u.transaction()));
                int applied = sink.accept(transactions);
                for (int i = 0; acknowledging && i < units.size(); i++) {
                    if (i >= applied) {
                        acknowledging = false;
                        break;
                    }
                    for (RecordChangeEvent<SourceRecord> record : units.get(i).records()) {
                        committer.markProcessed(record);
                    }
                }
            }
            committer.markBatchFinished();
        }

        @Override
        public boolean supportsTombstoneEvents() {
            return false;
        }
    }

    /** Debezium's settings, chosen so values arrive lossless and whole transactions can be told apart. */
    static Properties properties(ReplicantConfig config) {
        HostSpec primary = config.hosts().get(0);
        String slot = config.get(ReplicantOptions.CDC_SLOT);
        Properties p = new Properties();
        p.setProperty("name", "replicant-cdc-" + slot);
        p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
        p.setProperty("topic.prefix", TransactionAssembler.TOPIC_PREFIX);
        p.setProperty("database.hostname", primary.host());
        p.setProperty("database.port", String.valueOf(primary.port()));
        setIfPresent(p, "database.user", config.get(ReplicantOptions.USER));
        setIfPresent(p, "database.password", config.get(ReplicantOptions.PASSWORD));
        setIfPresent(p, "database.dbname", config.get(ReplicantOptions.DATABASE));
        // the jdbc: section (sslmode, sslrootcert, …) reaches Debezium's pgjdbc connections by its driver. prefix
        config.jdbcProperties().forEach((key, value) -> p.setProperty("driver." + key, value));
        p.setProperty("plugin.name", "pgoutput");
        p.setProperty("slot.name", slot);
        p.setProperty("publication.name", config.get(ReplicantOptions.CDC_PUBLICATION));
        p.setProperty("publication.autocreate.mode", config.get(ReplicantOptions.CDC_PUBLICATION_AUTOCREATE));

        Duration heartbeat = config.get(ReplicantOptions.CDC_HEARTBEAT_INTERVAL);
        List<String> tables = new ArrayList<>(config.get(ReplicantOptions.CDC_TABLES));
        if (!tables.isEmpty()) {
            tables.add(SIGNAL_TABLE.schema() + "\\." + SIGNAL_TABLE.table());
            if (!heartbeat.isZero()) {
                tables.add(HEARTBEAT_TABLE.schema() + "\\." + HEARTBEAT_TABLE.table());
            }
        }
        if (!tables.isEmpty()) {
            p.setProperty("table.include.list", String.join(",", tables));
        }
        List<String> excluded = config.get(ReplicantOptions.CDC_EXCLUDE_TABLES);
        if (!excluded.isEmpty()) {
            p.setProperty("table.exclude.list", String.join(",", excluded));
        }
        if (!heartbeat.isZero()) {
            p.setProperty("heartbeat.interval.ms", String.valueOf(heartbeat.toMillis()));
            p.setProperty("heartbeat.action.query", "INSERT INTO " + HEARTBEAT_TABLE + " (slot, beat_at) VALUES ('"
                    + slot.replace("'", "''") + "', now()) ON CONFLICT (slot) DO UPDATE SET beat_at = now()");
        }

        p.setProperty("signal.data.collection", SIGNAL_TABLE.toString());
        p.setProperty("provide.transaction.metadata", "true");
        p.setProperty("tombstones.on.delete", "false");
        p.setProperty("skipped.operations", "none");
        p.setProperty("decimal.handling.mode", "string");
        p.setProperty("interval.handling.mode", "string");
        p.setProperty("time.precision.mode", "adaptive_time_microseconds");
        p.setProperty("binary.handling.mode", "bytes");
        p.setProperty("hstore.handling.mode", "json");
        p.setProperty("unavailable.value.placeholder", ValueDecoder.UNAVAILABLE);
        p.setProperty("include.unknown.datatypes", "false");

        int batch = config.get(ReplicantOptions.CDC_MAX_BATCH_SIZE);
        p.setProperty("max.batch.size", String.valueOf(batch));
        p.setProperty("max.queue.size", String.valueOf(Math.max(8192, batch * 4)));
        p.setProperty("poll.interval.ms", String.valueOf(config.get(ReplicantOptions.CDC_POLL_INTERVAL).toMillis()));

        // Positions live in the followers and the slot, not in a file: each start streams from the slot's confirmed
        // position, whole transactions (PostgreSQL's own guarantee), and the followers skip what they already have.
        // (Debezium's offset-based resume once dropped the first change of the transaction after the stored one.)
        p.setProperty("offset.storage", "org.apache.kafka.connect.storage.MemoryOffsetBackingStore");
        p.setProperty("offset.flush.interval.ms",
                String.valueOf(config.get(ReplicantOptions.CDC_CONFIRM_INTERVAL).toMillis()));
        // The slot advances only to positions every follower has committed, confirmed by the engine; never by
        // pgjdbc's keepalive replies ("connector_and_driver"). Set, not left to Debezium's default, which may change.
        p.setProperty("lsn.flush.mode", "connector");
        // A lost primary connection ends this engine and the pipeline starts a new one, which streams from the
        // slot; Debezium's own retry would resume from its in-memory offsets instead.
        p.setProperty("errors.max.retries", "0");
        return p;
    }

    private static void setIfPresent(Properties p, String key, String value) {
        if (value != null) {
            p.setProperty(key, value);
        }
    }

    /**
     * Whether the pipeline streams {@code table}'s changes: {@code cdc.tables} (all if empty) minus
     * {@code cdc.exclude_tables}.
     */
    public static boolean captures(ReplicantConfig config, TableId table) {
        String name = table.toString();
        List<String> tables = config.get(ReplicantOptions.CDC_TABLES);
        return (tables.isEmpty() || tables.stream().anyMatch(name::matches))
                && config.get(ReplicantOptions.CDC_EXCLUDE_TABLES).stream().noneMatch(name::matches);
    }
}
