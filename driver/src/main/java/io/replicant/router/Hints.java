package io.replicant.router;

import java.util.List;
import java.util.Locale;

/**
 * Routing hints from the leading comments of a statement: {@code /* replicant:route=replica *\/},
 * {@code -- replicant:route=primary}, several keys separated by spaces or commas, e.g.
 * {@code /* replicant:route=replica,tag=reporting,label=dashboard *\/}. Only comments before the first
 * token count, and the lexer never sees comments inside string literals, so a hint-like text in a
 * string cannot match.
 *
 * @param route  {@code primary}, {@code replica} or {@code any}; null when not given
 * @param tag    replica group to use; null when not given
 * @param label  free text that routing rules can match ({@code match.hint}); null when not given
 * @param consistency {@code eventual}, {@code session}, {@code token} or {@code strong} for this statement; null when not given
 * @param minLsn the statement reads only on a replica that has replayed this WAL position ({@code min_lsn=0/16B6C50}); -1 when not given
 * @param quorum replicas that must acknowledge the commit of this statement's transaction ({@code quorum=2}); null when not given
 * @param error  why the hint comment is invalid; null when it is valid or absent
 */
public record Hints(String route, String tag, String label, String consistency, long minLsn, Integer quorum,
        String error) {
    static final Hints NONE = new Hints(null, null, null, null, Lsn.UNKNOWN, null, null);
    public static final List<String> CONSISTENCY_MODES = List.of("eventual", "session", "token", "strong");
    private static final String PREFIX = "replicant:";

    static Hints parse(List<String> comments) {
        String route = null;
        String tag = null;
        String label = null;
        String consistency = null;
        long minLsn = Lsn.UNKNOWN;
        Integer quorum = null;
        for (String comment : comments) {
            String body = comment.trim();
            if (!body.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
                continue;
            }
            for (String pair : body.substring(PREFIX.length()).trim().split("[\\s,]+")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                if (eq <= 0 || eq == pair.length() - 1) {
                    return invalid("'" + pair + "' is not key=value");
                }
                String key = pair.substring(0, eq).toLowerCase(Locale.ROOT);
                String value = pair.substring(eq + 1);
                switch (key) {
                    case "route":
                        value = value.toLowerCase(Locale.ROOT);
                        if (!value.equals("primary") && !value.equals("replica") && !value.equals("any")) {
                            return invalid("route must be primary, replica or any, but was: " + value);
                        }
                        route = value;
                        break;
                    case "tag":
                        tag = value;
                        break;
                    case "label":
                        label = value;
                        break;
                    case "consistency":
                        consistency = value.toLowerCase(Locale.ROOT);
                        if (!CONSISTENCY_MODES.contains(consistency)) {
                            return invalid("consistency must be one of " + CONSISTENCY_MODES + ", but was: " + value);
                        }
                        break;
                    case "min_lsn":
                        try {
                            minLsn = Lsn.parse(value);
                        } catch (IllegalArgumentException e) {
                            return invalid("min_lsn: " + e.getMessage());
                        }
                        break;
                    case "quorum":
                        if (!value.matches("\\d{1,4}")) {
                            return invalid("quorum must be a number of replicas, but was: " + value);
                        }
                        quorum = Integer.valueOf(value);
                        break;
                    default:
                        return invalid("unknown hint key '" + key
                                + "' (known: route, tag, label, consistency, min_lsn, quorum)");
                }
            }
        }
        if (route == null && tag == null && label == null && consistency == null && minLsn == Lsn.UNKNOWN
                && quorum == null) {
            return NONE;
        }
        return new Hints(route, tag, label, consistency, minLsn, quorum, null);
    }

    private static Hints invalid(String why) {
        return new Hints(null, null, null, null, Lsn.UNKNOWN, null, "invalid replicant hint: " + why);
    }

    /** A route or tag was given: the statement's placement is forced. */
    boolean present() {
        return route != null || tag != null;
    }
}
