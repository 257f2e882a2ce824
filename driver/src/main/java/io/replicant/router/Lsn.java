package io.replicant.router;

import java.util.Locale;

/** PostgreSQL WAL positions ({@code pg_lsn}): text {@code 16/B374D848} is two 32-bit hex halves of one 64-bit number. */
public final class Lsn {
    /** No position known. */
    public static final long UNKNOWN = -1;

    private Lsn() {
    }

    /** Parses {@code X/Y}; throws IllegalArgumentException with the text if it is not a WAL position. */
    public static long parse(String text) {
        int slash = text == null ? -1 : text.indexOf('/');
        if (slash <= 0 || slash == text.length() - 1 || slash > 8 || text.length() - slash - 1 > 8) {
            throw new IllegalArgumentException("not a WAL position (like 0/16B6C50): " + text);
        }
        try {
            return Long.parseLong(text, 0, slash, 16) << 32 | Long.parseLong(text, slash + 1, text.length(), 16);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a WAL position (like 0/16B6C50): " + text);
        }
    }

    public static String format(long lsn) {
        return (Long.toHexString(lsn >>> 32) + "/" + Long.toHexString(lsn & 0xFFFFFFFFL)).toUpperCase(Locale.ROOT);
    }
}
