package io.replicant.router;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/** Picks one backend from the eligible read candidates ({@code load_balance}). */
public interface LoadBalancer {

    /** @param candidates non-empty */
    Backend pick(List<Backend> candidates);

    static LoadBalancer forName(String name) {
        switch (name) {
            case "round_robin":
                return new RoundRobin();
            case "random":
                return candidates -> candidates.get(ThreadLocalRandom.current().nextInt(candidates.size()));
            case "weighted":
                return LoadBalancer::pickWeighted;
            case "least_in_flight":
                return new LeastInFlight();
            default:
                throw new IllegalArgumentException("unknown load_balance " + name);
        }
    }

    private static Backend pickWeighted(List<Backend> candidates) {
        int total = 0;
        for (Backend b : candidates) {
            total += b.weight();
        }
        if (total == 0) {
            return candidates.get(ThreadLocalRandom.current().nextInt(candidates.size()));
        }
        int ticket = ThreadLocalRandom.current().nextInt(total);
        for (Backend b : candidates) {
            ticket -= b.weight();
            if (ticket < 0) {
                return b;
            }
        }
        return candidates.get(candidates.size() - 1);
    }

    /** Rotates over the candidates; shared by all sessions so the spread is even overall. */
    final class RoundRobin implements LoadBalancer {
        private final AtomicInteger next = new AtomicInteger();

        @Override
        public Backend pick(List<Backend> candidates) {
            return candidates.get(Math.floorMod(next.getAndIncrement(), candidates.size()));
        }
    }

    /** The candidate with the fewest statements running; ties rotate. */
    final class LeastInFlight implements LoadBalancer {
        private final AtomicInteger next = new AtomicInteger();

        @Override
        public Backend pick(List<Backend> candidates) {
            int start = Math.floorMod(next.getAndIncrement(), candidates.size());
            Backend best = null;
            for (int i = 0; i < candidates.size(); i++) {
                Backend b = candidates.get((start + i) % candidates.size());
                if (best == null || b.inFlight() < best.inFlight()) {
                    best = b;
                }
            }
            return best;
        }
    }
}
