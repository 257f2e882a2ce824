package io.replicant.proxy.session;

import java.util.ArrayList;
import java.util.List;

import io.netty.channel.Channel;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.Messages;
import io.replicant.router.Classification;

/**
 * An autocommit read in flight that may run once more on another server if its own is lost before any of the
 * answer reached the client, as the JDBC driver retries one. It keeps its own reference to the exchange's
 * messages, and holds back the answers that come before any result (ParseComplete, BindComplete, descriptions,
 * notices, and the FATAL error of a server shutting down), so a retry answers the client exactly once.
 */
final class ReadRetry {
    /** The exchange to run again: its messages and statements. */
    record Exchange(List<Frame> frames, List<Classification> classifications) {
    }

    private Exchange armed;
    private final List<Frame> held = new ArrayList<>();

    /** Keeps an exchange about to be sent (a reference of its own to each message). */
    void arm(List<Frame> frames, List<Classification> cs) {
        disarm();
        frames.forEach(Frame::retain);
        armed = new Exchange(frames, cs);
    }

    boolean armed() {
        return armed != null;
    }

    /**
     * A server answer while armed: held back (true) if nothing of the result has come yet; otherwise the held
     * answers go to the client first, the exchange can no longer run again, and the caller goes on with this one.
     */
    boolean hold(Frame answer, Channel client) {
        if (beforeResult(answer)) {
            held.add(answer);
            return true;
        }
        for (Frame frame : held) {
            client.write(frame.bytes(), client.voidPromise());
        }
        held.clear();
        disarm();
        return false;
    }

    private static boolean beforeResult(Frame answer) {
        switch (answer.type()) {
            case MessageType.PARSE_COMPLETE, MessageType.BIND_COMPLETE, MessageType.CLOSE_COMPLETE,
                    MessageType.PARAMETER_DESCRIPTION, MessageType.ROW_DESCRIPTION, MessageType.NO_DATA,
                    MessageType.NOTICE_RESPONSE, MessageType.PARAMETER_STATUS:
                return true;
            case MessageType.ERROR_RESPONSE:
                String severity = Messages.errorField(answer, Messages.FIELD_SEVERITY);
                return "FATAL".equals(severity) || "PANIC".equals(severity); // the server goes; the close follows
            default:
                return false;
        }
    }

    /** The server was lost: the exchange to run again (the caller owns its messages), or null. */
    Exchange take() {
        Exchange exchange = armed;
        armed = null;
        held.forEach(Frame::release);
        held.clear();
        return exchange;
    }

    /** The exchange is over (or the session ends): nothing to run again. */
    void disarm() {
        Exchange exchange = take();
        if (exchange != null) {
            exchange.frames().forEach(Frame::release);
        }
    }
}
