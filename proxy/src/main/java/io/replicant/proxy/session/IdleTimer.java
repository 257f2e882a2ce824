package io.replicant.proxy.session;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.netty.channel.EventLoop;

/**
 * The idle and idle-in-transaction timeouts of one client. Arming a timer per query would cost a scheduled
 * task each time, so one timer stays armed and, when it fires early (the client was busy since), re-arms for
 * the time that is left. Runs on the session's event loop.
 */
final class IdleTimer {
    private final long idleNanos;
    private final long idleInTransactionNanos;
    private final Consumer<Character> onTimeout;
    private EventLoop loop;
    private ScheduledFuture<?> timer;
    private long timerDeadline;
    /** When the client last became idle, or 0 while it is busy. */
    private long idleSince;
    private char status;

    IdleTimer(Duration idle, Duration idleInTransaction, Consumer<Character> onTimeout) {
        this.idleNanos = idle.toNanos();
        this.idleInTransactionNanos = idleInTransaction.toNanos();
        this.onTimeout = onTimeout;
    }

    /** The client got ReadyForQuery with this transaction status and may now stay silent. */
    void idle(EventLoop loop, char transactionStatus) {
        long limit = limit(transactionStatus);
        if (limit == 0 && timer == null) {
            return;
        }
        this.loop = loop;
        this.status = transactionStatus;
        this.idleSince = System.nanoTime();
        if (limit > 0 && timer != null && timerDeadline - (idleSince + limit) > 0) {
            stop(); // armed for a longer limit than this one
        }
        if (limit > 0 && timer == null) {
            arm(idleSince + limit);
        }
    }

    private void arm(long deadline) {
        timerDeadline = deadline;
        timer = loop.schedule(this::fired, deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
    }

    /** The client sent something. */
    void busy() {
        idleSince = 0;
    }

    void stop() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private long limit(char transactionStatus) {
        return transactionStatus == 'I' ? idleNanos : idleInTransactionNanos;
    }

    private void fired() {
        timer = null;
        if (idleSince == 0) {
            return; // busy: the next idle() arms again
        }
        long limit = limit(status);
        if (limit == 0) {
            return;
        }
        long deadline = idleSince + limit;
        if (deadline - System.nanoTime() <= 0) {
            onTimeout.accept(status);
        } else {
            arm(deadline);
        }
    }
}
