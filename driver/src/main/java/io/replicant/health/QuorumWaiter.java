package io.replicant.health;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.replicant.router.Backend;
import io.replicant.router.Lsn;

/**
 * Waits for replicas to acknowledge commit positions ({@code replication.mode: sync}). While any commit is
 * waiting, one thread per replica asks its replica for its replay (or flushed receive) position over and over
 * on a connection of its own; every waiter is woken when a position moves. With no waiter the threads sleep,
 * so an idle cluster costs nothing. Replay positions are read on the replicas themselves because the primary's
 * {@code pg_stat_replication.replay_lsn} is only refreshed with the replica's next status message.
 */
public final class QuorumWaiter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(QuorumWaiter.class);
    /** Pause between two polls of one replica while commits wait: bounds the servers' cost, adds at most this latency. */
    private static final long POLL_PAUSE_NANOS = 100_000;
    private static final long RECONNECT_PAUSE_MILLIS = 100;

    private final String cluster;
    private final List<Backend> replicas;
    private final ReplicaMonitor.Connector connector;
    private final String positionQuery;
    private final AtomicLongArray acknowledged;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition moved = lock.newCondition();
    private final Condition waitersArrived = lock.newCondition();
    private final List<Thread> pollers = new ArrayList<>();
    private int waiters;
    private volatile boolean closed;

    public QuorumWaiter(String cluster, List<Backend> replicas, ReplicaMonitor.Connector connector, String ack) {
        this.cluster = cluster;
        this.replicas = List.copyOf(replicas);
        this.connector = connector;
        this.positionQuery = ack.equals("flush") ? "SELECT pg_last_wal_receive_lsn()::text"
                : "SELECT pg_last_wal_replay_lsn()::text";
        this.acknowledged = new AtomicLongArray(replicas.size());
        for (int i = 0; i < replicas.size(); i++) {
            acknowledged.set(i, Lsn.UNKNOWN);
            int index = i;
            Thread t = new Thread(() -> poll(index), "replicant-" + cluster + "-quorum-" + replicas.get(i).name());
            t.setDaemon(true);
            pollers.add(t);
            t.start();
        }
    }

    /**
     * Blocks until {@code w} replicas have acknowledged {@code lsn} or {@code timeoutNanos} pass.
     *
     * @return how many replicas acknowledged it (≥ w on success)
     */
    public int await(long lsn, int w, long timeoutNanos) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutNanos;
        lock.lock();
        try {
            waiters++;
            waitersArrived.signalAll();
            int count;
            while ((count = count(lsn)) < w) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                moved.awaitNanos(left);
            }
            return count;
        } finally {
            waiters--;
            lock.unlock();
        }
    }

    private int count(long lsn) {
        int n = 0;
        for (int i = 0; i < acknowledged.length(); i++) {
            if (acknowledged.get(i) >= lsn) {
                n++;
            }
        }
        return n;
    }

    private void poll(int index) {
        Backend replica = replicas.get(index);
        Connection connection = null;
        while (!closed) {
            try {
                awaitWaiters();
                if (connection == null) {
                    connection = connector.open(replica.host());
                }
                long position = position(connection);
                if (position > acknowledged.get(index)) {
                    acknowledged.set(index, position);
                    replica.observeReplay(position);
                    lock.lock();
                    try {
                        moved.signalAll();
                    } finally {
                        lock.unlock();
                    }
                }
                TimeUnit.NANOSECONDS.sleep(POLL_PAUSE_NANOS);
            } catch (SQLException e) {
                LOG.debug("[{}] quorum poll of {} failed: {}", cluster, replica, e.getMessage());
                close(connection);
                connection = null;
                pause();
            } catch (InterruptedException e) {
                break;
            }
        }
        close(connection);
    }

    private void awaitWaiters() throws InterruptedException {
        lock.lock();
        try {
            while (waiters == 0 && !closed) {
                waitersArrived.await();
            }
        } finally {
            lock.unlock();
        }
    }

    private long position(Connection connection) throws SQLException {
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(positionQuery)) {
            rs.next();
            String text = rs.getString(1);
            return text == null ? Lsn.UNKNOWN : Lsn.parse(text);
        }
    }

    private static void pause() {
        try {
            Thread.sleep(RECONNECT_PAUSE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void close(Connection connection) {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // already broken
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        pollers.forEach(Thread::interrupt);
    }
}
