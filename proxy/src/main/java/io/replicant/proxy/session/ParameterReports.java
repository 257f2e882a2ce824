package io.replicant.proxy.session;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.Messages;

/**
 * The ParameterStatus values one client was told, kept as PostgreSQL keeps them for its own client: each change is
 * reported once. A server's report of one of the client's own startup parameters waits for the end of the exchange,
 * since a RESET took it to the server's default and the proxy then puts it back, with a report that replaces it.
 */
final class ParameterReports {
    private final Predicate<String> ownParameter;
    private final Channel client;
    /** Null until the login completes. */
    private Map<String, String> told;
    /** Read by the admin console, from another thread. */
    private volatile String applicationName = "";
    private final Map<String, String> held = new LinkedHashMap<>();

    ParameterReports(Channel client, Predicate<String> ownParameter) {
        this.client = client;
        this.ownParameter = ownParameter;
    }

    /** The login's reports: all of {@code parameters}, written (not flushed) to the client. */
    void loggedIn(Map<String, String> parameters, String applicationName) {
        told = new HashMap<>(parameters);
        this.applicationName = applicationName;
        parameters.forEach((k, v) -> client.write(Messages.parameterStatus(client.alloc(), k, v)));
    }

    /**
     * A ParameterStatus from a server on its way to the client.
     *
     * @return true if held until {@link #release}, which then owns the frame
     */
    boolean hold(Frame parameterStatus) {
        ByteBuf body = parameterStatus.body();
        String name = Frame.readCString(body);
        String value = Frame.readCString(body);
        if (ownParameter.test(name)) {
            held.put(name, value);
            parameterStatus.release();
            return true;
        }
        believes(name, value);
        return false;
    }

    /** A new exchange: what an earlier one held was put right or reported already. */
    void exchangeStarted() {
        held.clear();
    }

    /** The held reports, ahead of ReadyForQuery: the last value of each, if the client does not have it yet. */
    void release() {
        held.forEach((name, value) -> {
            if (!value.equals(told.get(name))) {
                believes(name, value);
                client.write(Messages.parameterStatus(client.alloc(), name, value));
            }
        });
        held.clear();
    }

    /**
     * A new primary connection's parameters, which the client should see: what changed is reported, except the
     * client's own startup parameters, which stand (pooled connections log in without them).
     */
    void primaryLoggedIn(Map<String, String> parameters) {
        if (told == null) {
            return; // still logging in: loggedIn reports them all
        }
        parameters.forEach((k, v) -> {
            if (!ownParameter.test(k) && !v.equals(told.put(k, v))) {
                client.write(Messages.parameterStatus(client.alloc(), k, v));
            }
        });
    }

    String applicationName() {
        return applicationName;
    }

    private void believes(String name, String value) {
        told.put(name, value);
        if (name.equals("application_name")) {
            applicationName = value;
        }
    }
}
