package io.replicant.health;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.replicant.router.Backend;
import io.replicant.router.Lsn;

/**
 * Decides, after each monitor round, which host takes writes. It follows the hosts' own answers: the one host
 * not in recovery is the primary. When the primary is down and another host has been promoted (by an operator,
 * by tooling, or by Replicant itself with {@code failover.promote}) writes move there; when more than one host
 * accepts writes (a split brain) writes are blocked, or sent to the highest timeline if so configured.
 */
final class FailoverCoordinator {
    private static final Logger LOG = LoggerFactory.getLogger(FailoverCoordinator.class);

    /** What one round of checks found about one host. */
    record HostState(Backend backend, boolean reachable, boolean inRecovery, int timeline, long position) {
        boolean acceptsWrites() {
            return reachable && !inRecovery;
        }
    }

    /** Runs {@code pg_promote()} on a replica. */
    interface Promoter {
        void promote(Backend replica) throws Exception;
    }

    private final String cluster;
    private final Topology topology;
    private final Promoter promoter;
    private final boolean promote;
    private final Duration grace;
    private final boolean highestTimelineWins;
    private final Counter failovers;
    private final Counter splitBrains;
    private long primaryDownSince = -1;
    private boolean promoted;
    private String splitBrain;

    FailoverCoordinator(String cluster, Topology topology, Promoter promoter, boolean promote, Duration grace,
            boolean highestTimelineWins, MeterRegistry registry) {
        this.cluster = cluster;
        this.topology = topology;
        this.promoter = promoter;
        this.promote = promote;
        this.grace = grace;
        this.highestTimelineWins = highestTimelineWins;
        this.failovers = Counter.builder("replicant.failovers").tag("cluster", cluster)
                .description("Times writes moved to another host").register(registry);
        this.splitBrains = Counter.builder("replicant.split_brain").tag("cluster", cluster)
                .description("Times more than one host accepted writes").register(registry);
    }

    void reconcile(List<HostState> states, long nowNanos) {
        Backend primary = topology.primary();
        List<HostState> writers = new ArrayList<>();
        HostState current = null;
        for (HostState s : states) {
            if (s.acceptsWrites()) {
                writers.add(s);
            }
            if (s.backend() == primary) {
                current = s;
            }
        }
        if (writers.size() > 1) {
            onSplitBrain(writers, primary);
            return;
        }
        if (splitBrain != null) {
            LOG.warn("[{}] split brain resolved: only {} accepts writes now", cluster,
                    writers.isEmpty() ? "no host" : writers.get(0).backend().name());
            splitBrain = null;
            topology.blockWrites(null);
        }
        boolean primaryLost = !primary.isAvailable() || (current != null && current.reachable() && current.inRecovery());
        if (writers.size() == 1 && writers.get(0).backend() != primary && primaryLost) {
            switchTo(writers.get(0).backend(), primary.name() + (primary.isAvailable() ? " is in recovery" : " is down"));
            return;
        }
        if (writers.isEmpty() && !primary.isAvailable()) {
            if (primaryDownSince == -1) {
                primaryDownSince = nowNanos;
            }
            if (promote && !promoted && nowNanos - primaryDownSince >= grace.toNanos()) {
                promoteMostAdvanced(states);
            }
        } else if (primary.isAvailable()) {
            primaryDownSince = -1;
        }
    }

    private void onSplitBrain(List<HostState> writers, Backend primary) {
        String names = String.join(", ", writers.stream().map(w -> w.backend().name() + " (timeline " + w.timeline() + ")")
                .toList());
        String episode = "split brain: " + names + " all accept writes";
        if (!episode.equals(splitBrain)) {
            splitBrain = episode;
            splitBrains.increment();
            LOG.error("[{}] SPLIT BRAIN: {} all report pg_is_in_recovery() = false; {}", cluster, names,
                    highestTimelineWins ? "writes go to the highest timeline" : "writes are refused until only one does");
        }
        if (highestTimelineWins) {
            HostState top = writers.stream().max(Comparator.comparingInt(HostState::timeline)).orElseThrow();
            long tied = writers.stream().filter(w -> w.timeline() == top.timeline()).count();
            if (tied == 1) {
                topology.blockWrites(null);
                if (top.backend() != primary) {
                    switchTo(top.backend(), "it is on the highest timeline of a split brain");
                }
                return;
            }
        }
        topology.blockWrites(episode + "; writes are refused until only one does (failover.split_brain: refuse)");
    }

    private void switchTo(Backend newPrimary, String why) {
        Backend old = topology.primary();
        topology.switchPrimary(newPrimary);
        failovers.increment();
        primaryDownSince = -1;
        promoted = false;
        LOG.warn("[{}] FAILOVER: writes move from {} to {} ({})", cluster, old.name(), newPrimary.name(), why);
    }

    private void promoteMostAdvanced(List<HostState> states) {
        HostState best = null;
        for (HostState s : states) {
            if (s.reachable() && s.inRecovery() && s.backend().isAvailable()
                    && (best == null || s.position() > best.position())) {
                best = s;
            }
        }
        if (best == null) {
            LOG.error("[{}] the primary is down and no replica is reachable to promote", cluster);
            return;
        }
        promoted = true;
        LOG.warn("[{}] the primary has been down for {} ms or more: promoting {} (replayed up to its position {})",
                cluster, grace.toMillis(), best.backend().name(), Lsn.format(best.position()));
        try {
            promoter.promote(best.backend());
        } catch (Exception e) {
            promoted = false;
            LOG.error("[{}] promoting {} failed: {}", cluster, best.backend().name(), e.getMessage());
        }
    }
}
