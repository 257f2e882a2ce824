package io.replicant.testkit;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Server-side evidence of where a statement ran: with {@code log_statement=all} every server logs each
 * statement it receives, so a unique marker in the SQL (e.g. a trailing comment) shows which node got it.
 */
public final class StatementLog {
    private StatementLog() {
    }

    static Mark mark(List<PgNode> nodes) {
        Map<PgNode, Long> offsets = new LinkedHashMap<>();
        for (PgNode node : nodes) {
            offsets.put(node, node.logSize());
        }
        return new Mark(offsets);
    }

    /** Log positions at one moment. */
    public static final class Mark {
        private final Map<PgNode, Long> offsets;

        private Mark(Map<PgNode, Long> offsets) {
            this.offsets = offsets;
        }

        /** Names of the nodes whose log received {@code marker} after this mark. */
        public Set<String> nodesThatLogged(String marker) {
            Set<String> names = new LinkedHashSet<>();
            for (Map.Entry<PgNode, Long> e : offsets.entrySet()) {
                if (e.getKey().logSince(e.getValue()).contains(marker)) {
                    names.add(e.getKey().name());
                }
            }
            return names;
        }

        /** How many times the nodes logged {@code marker} after this mark, all nodes together. */
        public int count(String marker) {
            int count = 0;
            for (Map.Entry<PgNode, Long> e : offsets.entrySet()) {
                String log = e.getKey().logSince(e.getValue());
                for (int at = log.indexOf(marker); at >= 0; at = log.indexOf(marker, at + marker.length())) {
                    count++;
                }
            }
            return count;
        }

        /** The log lines after this mark that contain {@code marker}, per node, for failure messages. */
        public Map<String, String> linesWith(String marker) {
            Map<String, String> out = new LinkedHashMap<>();
            for (Map.Entry<PgNode, Long> e : offsets.entrySet()) {
                StringBuilder sb = new StringBuilder();
                for (String line : e.getKey().logSince(e.getValue()).split("\n")) {
                    if (line.contains(marker)) {
                        sb.append(line).append('\n');
                    }
                }
                out.put(e.getKey().name(), sb.toString());
            }
            return out;
        }
    }
}
