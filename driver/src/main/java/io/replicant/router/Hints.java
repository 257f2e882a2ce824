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
 * @param error  why the hint comment is invalid; null when it is valid or absent
 */
public record Hints(String route, String tag, String label, String error) {
    static final Hints NONE = new Hints(null, null, null, null);
    private static final String PREFIX = "replicant:";

    static Hints parse(List<String> comments) {
        String route = null;
        String tag = null;
        String label = null;
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
                    default:
                        return invalid("unknown hint key '" + key + "' (known: route, tag, label)");
                }
            }
        }
        if (route == null && tag == null && label == null) {
            return NONE;
        }
        return new Hints(route, tag, label, null);
    }

    private static Hints invalid(String why) {
        return new Hints(null, null, null, "invalid replicant hint: " + why);
    }

    boolean present() {
        return route != null || tag != null;
    }
}
