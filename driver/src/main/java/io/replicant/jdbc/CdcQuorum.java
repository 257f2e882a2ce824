package io.replicant.jdbc;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.replicant.config.ReplicantOptions;
import io.replicant.health.WalPosition;
import io.replicant.router.Backend;

/**
 * For one quorum commit with {@code quorum.cdc_followers: true}: how many CDC followers have applied its position,
 * asked on each follower's own pool (one connection each, held for the wait). A follower that confirmed is not
 * asked again; one that cannot be asked does not confirm (health checks take it out of the pool).
 */
final class CdcQuorum implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CdcQuorum.class);
    private final Cluster cluster;
    private final String slot;
    private final List<Backend> pending = new ArrayList<>();
    private final Map<Backend, PhysicalConnection> connections = new HashMap<>();
    private int confirmed;

    CdcQuorum(Cluster cluster) {
        this.cluster = cluster;
        this.slot = cluster.config().get(ReplicantOptions.CDC_SLOT);
        for (Backend b : cluster.replicas()) {
            if (b.host().cdcFollower() && b.isAvailable()) {
                pending.add(b);
            }
        }
    }

    /** How many followers have applied {@code target} or later. */
    int confirmed(long target) {
        for (Iterator<Backend> it = pending.iterator(); it.hasNext(); ) {
            Backend follower = it.next();
            try {
                PhysicalConnection pc = connections.get(follower);
                if (pc == null) {
                    pc = cluster.acquire(follower);
                    connections.put(follower, pc);
                }
                long applied = WalPosition.replayed(pc.connection, follower.host(), slot);
                follower.observeReplay(applied);
                if (applied >= target) {
                    confirmed++;
                    it.remove();
                }
            } catch (SQLException e) {
                LOG.warn("[{}] {} cannot confirm a quorum commit: {}", cluster.name(), follower, e.getMessage());
                it.remove();
            }
        }
        return confirmed;
    }

    @Override
    public void close() {
        for (PhysicalConnection pc : connections.values()) {
            try {
                pc.connection.close();
            } catch (SQLException e) {
                cluster.evict(pc);
            }
        }
    }
}
