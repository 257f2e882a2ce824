package io.replicant.health;

import io.replicant.router.Backend;

/** The cluster's side of failover: who the primary is, and whether writes are blocked. */
public interface Topology {
    Backend primary();

    /** Makes {@code newPrimary} the primary and every other host a replica. */
    void switchPrimary(Backend newPrimary);

    /** Blocks writes with {@code why}, or unblocks them with null. */
    void blockWrites(String why);
}
