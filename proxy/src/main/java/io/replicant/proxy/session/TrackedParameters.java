package io.replicant.proxy.session;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.replicant.router.SessionEffect;

/**
 * Startup parameters that transaction pooling does not split its pools by, as PgBouncer does not: clients whose
 * drivers send another application_name, time zone or date style, or pgjdbc's extra_float_digits, share
 * connections. Pooled connections log in without them, and each borrower's values are set on the connection with
 * {@code SET} as it is lent ({@link SessionSettings#catchUp}), again after the client's own RESET of them, which on
 * a pooled connection returns to the server's default instead of the client's startup value.
 */
final class TrackedParameters {
    /** Settings drivers send at startup (pgjdbc all but IntervalStyle, libpq application_name and PGTZ's TimeZone). */
    static final List<String> NAMES = List.of("application_name", "client_encoding", "DateStyle", "extra_float_digits",
            "IntervalStyle", "TimeZone");
    private static final Map<String, String> BY_LOWER_CASE = new HashMap<>();
    /** RESET x, SET x TO DEFAULT, SET TIME ZONE LOCAL, SET NAMES DEFAULT: back to the login value. */
    private static final Pattern RESET_ONE = Pattern.compile("(?is)\\s*(?:reset\\s+(\"?)(\\w+)\\1"
            + "|set\\s+(?:session\\s+)?(\"?)(\\w+)\\3\\s*(?:to|=)\\s*default"
            + "|set\\s+(?:session\\s+)?(time\\s+zone)\\s+(?:local|default)"
            + "|reset\\s+(time\\s+zone)"
            + "|set\\s+(?:session\\s+)?(names)\\s+default)\\s*;?\\s*");

    /** SET x, SET TIME ZONE, SET NAMES: a new value, unless {@link #RESET_ONE} matches too. */
    private static final Pattern SET_ONE = Pattern.compile(
            "(?is)\\s*set\\s+(?:session\\s+)?(?:(time\\s+zone|names)\\b|(\"?)(\\w+)\\2\\s*(?:to\\b|=))");

    static {
        NAMES.forEach(name -> BY_LOWER_CASE.put(name.toLowerCase(Locale.ROOT), name));
    }

    private TrackedParameters() {
    }

    /** The tracked parameters among a client's startup parameters, by their canonical names. */
    static Map<String, String> sentIn(Map<String, String> startup) {
        Map<String, String> tracked = new LinkedHashMap<>();
        startup.forEach((name, value) -> {
            String canonical = canonical(name);
            if (canonical != null) {
                tracked.put(canonical, value);
            }
        });
        return tracked;
    }

    /** The startup parameters a pooled connection logs in with. */
    static Map<String, String> withoutTracked(Map<String, String> startup) {
        Map<String, String> shared = new HashMap<>(startup);
        shared.keySet().removeIf(name -> canonical(name) != null);
        return shared;
    }

    /** The canonical name of a tracked parameter (GUC names are case-insensitive), or null. */
    static String canonical(String name) {
        return BY_LOWER_CASE.get(name.toLowerCase(Locale.ROOT).replaceAll("\\s+", ""));
    }

    /** The tracked parameters a statement's effect returns to their login values: all for RESET ALL. */
    static Set<String> resetBy(SessionEffect effect) {
        return switch (effect.type()) {
            case RESET_ALL, DISCARD_ALL -> Set.copyOf(NAMES);
            case SET -> {
                Matcher m = RESET_ONE.matcher(effect.sql());
                if (!m.matches()) {
                    yield Set.of();
                }
                if (m.group(7) != null) {
                    yield Set.of("client_encoding");
                }
                String named = m.group(2) != null ? m.group(2) : m.group(4) != null ? m.group(4)
                        : m.group(5) != null ? m.group(5) : m.group(6);
                String name = canonical(named);
                yield name == null ? Set.of() : Set.of(name);
            }
            default -> Set.of();
        };
    }

    /** The tracked parameter a statement's effect gives a value of its own (not its login value), if any. */
    static Optional<String> setBy(SessionEffect effect) {
        if (effect.type() != SessionEffect.Type.SET || !resetBy(effect).isEmpty()) {
            return Optional.empty();
        }
        Matcher m = SET_ONE.matcher(effect.sql());
        if (!m.lookingAt()) {
            return Optional.empty();
        }
        if (m.group(1) != null) {
            return Optional.of(m.group(1).toLowerCase(Locale.ROOT).startsWith("names") ? "client_encoding" : "TimeZone");
        }
        return Optional.ofNullable(canonical(m.group(3)));
    }

    /** Statements that take a connection carrying {@code carried} to {@code wanted}, or an empty list. */
    static List<String> changes(Map<String, String> carried, Map<String, String> wanted) {
        List<String> statements = new ArrayList<>();
        wanted.forEach((name, value) -> {
            if (!value.equals(carried.get(name))) {
                statements.add(set(name, value));
            }
        });
        carried.keySet().forEach(name -> {
            if (!wanted.containsKey(name)) {
                statements.add("RESET " + name); // the server's default: pooled connections log in without it
            }
        });
        return statements;
    }

    static String set(String name, String value) {
        return "SET " + name + " = E'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
