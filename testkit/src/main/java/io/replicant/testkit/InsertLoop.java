package io.replicant.testkit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the failover tests run while they break the primary: a thread inserting 1, 2, 3, … with one statement,
 * through connections from a {@link Connector} (a new one after each error), remembering which inserts returned
 * success and which errors it saw.
 */
public final class InsertLoop implements Runnable {
    /** Where the loop gets a connection. */
    @FunctionalInterface
    public interface Connector {
        Connection connect() throws SQLException;
    }

    private final Connector connector;
    private final String insert;
    private final long pauseAfterErrorMillis;
    private final Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
    private final List<SQLException> failures = new ArrayList<>();
    private final AtomicLong next = new AtomicLong(1);
    private final AtomicBoolean stop = new AtomicBoolean();
    private volatile long lastSuccessNanos;
    private final Thread thread = new Thread(this, "insert-loop");

    /**
     * @param insert an INSERT with one parameter, the number
     * @param pauseAfterErrorMillis how long to wait before connecting again after an error
     */
    public InsertLoop(Connector connector, String insert, long pauseAfterErrorMillis) {
        this.connector = connector;
        this.insert = insert;
        this.pauseAfterErrorMillis = pauseAfterErrorMillis;
    }

    public void start() {
        thread.start();
    }

    @Override
    public void run() {
        while (!stop.get()) {
            try (Connection c = connector.connect(); PreparedStatement s = c.prepareStatement(insert)) {
                while (!stop.get()) {
                    long id = next.getAndIncrement();
                    s.setLong(1, id);
                    s.executeUpdate();
                    acknowledged.add(id);
                    lastSuccessNanos = System.nanoTime();
                }
            } catch (SQLException e) {
                synchronized (failures) {
                    failures.add(e);
                }
                PgNode.sleep(pauseAfterErrorMillis);
            }
        }
    }

    /** The number the next insert will use. */
    public long next() {
        return next.get();
    }

    /** The numbers whose insert returned success. */
    public Set<Long> acknowledged() {
        return acknowledged;
    }

    /** The errors seen so far. */
    public List<SQLException> failures() {
        synchronized (failures) {
            return List.copyOf(failures);
        }
    }

    /**
     * Waits (at most a minute) until {@code n} inserts succeeded after {@code sinceNanos}.
     *
     * @return when the first of them succeeded (System.nanoTime)
     * @throws AssertionError if they did not
     */
    public long awaitSuccessAfter(long sinceNanos, int n) {
        long deadline = System.nanoTime() + 60_000_000_000L;
        long first = -1;
        int before = acknowledged.size();
        while (acknowledged.size() < before + n || first == -1) {
            long last = lastSuccessNanos;
            if (first == -1 && last - sinceNanos > 0) {
                first = last;
                before = acknowledged.size();
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("inserts did not resume within a minute; failures: " + failures());
            }
            PgNode.sleep(5);
        }
        return first;
    }

    public void stop() throws InterruptedException {
        stop.set(true);
        thread.join(60_000);
    }
}
