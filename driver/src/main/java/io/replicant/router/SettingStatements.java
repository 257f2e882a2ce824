package io.replicant.router;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A session's log of settings statements, replayed in order onto each server connection it uses. */
public final class SettingStatements {
    /** The parameter a SET or RESET sets; not SET SESSION CHARACTERISTICS, whose statements set different ones. */
    private static final Pattern PARAMETER = Pattern.compile(
            "\\s*(?!set\\s+session\\s+characteristics\\b)(?:set\\s+(?:session\\s+)?|reset\\s+)(\"?[\\w.]+\"?)",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern RESET_ALL = Pattern.compile("\\s*reset\\s+all\\b", Pattern.CASE_INSENSITIVE);

    private SettingStatements() {
    }

    /**
     * A shorter log that leaves a connection in the same state when replayed from scratch: what follows the last
     * RESET ALL, and of that only the last statement per parameter (a SET in a loop); statements it cannot tell
     * the parameter of are all kept, in order.
     */
    public static List<String> compact(List<String> log) {
        int from = 0;
        for (int i = 0; i < log.size(); i++) {
            if (RESET_ALL.matcher(log.get(i)).lookingAt()) {
                from = i;
            }
        }
        Map<String, String> last = new LinkedHashMap<>();
        int anonymous = 0;
        for (String sql : log.subList(from, log.size())) {
            Matcher m = PARAMETER.matcher(sql);
            String key = m.lookingAt() ? m.group(1).toLowerCase(Locale.ROOT) : "#" + anonymous++;
            last.remove(key);
            last.put(key, sql);
        }
        return List.copyOf(last.values());
    }
}
