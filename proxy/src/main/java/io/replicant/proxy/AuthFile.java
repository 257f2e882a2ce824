package io.replicant.proxy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.replicant.config.ConfigException;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;

/**
 * The roles of {@code proxy.auth_file} and their secrets, in PgBouncer's auth_file format so an existing
 * userlist.txt works: one {@code "role" "secret"} line per role, a double quote inside a field written twice;
 * blank lines and lines starting with {@code ;} or {@code #} are skipped. Errors name the line, never a secret.
 */
public final class AuthFile {
    private final Map<String, String> secrets;

    private AuthFile(Map<String, String> secrets) {
        this.secrets = secrets;
    }

    /**
     * The file {@code proxy.auth_file} names, or null when it is not set.
     *
     * @throws ConfigException if the file cannot be read or a line is not two quoted fields
     */
    public static AuthFile of(ReplicantConfig config) {
        String path = config.get(ReplicantOptions.PROXY_AUTH_FILE);
        return path == null ? null : load(path, config.source());
    }

    private static AuthFile load(String path, String origin) {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of(path), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(ReplicantOptions.PROXY_AUTH_FILE.name(), "cannot read " + path + ": " + e,
                    origin);
        }
        Map<String, String> secrets = new HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith(";") || line.startsWith("#")) {
                continue;
            }
            String[] fields = new String[2];
            int at = 0;
            for (int f = 0; f < 2; f++) {
                at = skipSpaces(line, at);
                int end = at < line.length() && line.charAt(at) == '"' ? closingQuote(line, at) : -1;
                if (end < 0) {
                    throw new ConfigException(ReplicantOptions.PROXY_AUTH_FILE.name(), "line " + (i + 1) + " of "
                            + path + " is not two double-quoted fields (\"role\" \"secret\")", origin);
                }
                fields[f] = line.substring(at + 1, end).replace("\"\"", "\"");
                at = end + 1;
            }
            secrets.put(fields[0], fields[1]);
        }
        return new AuthFile(secrets);
    }

    private static int skipSpaces(String line, int at) {
        while (at < line.length() && Character.isWhitespace(line.charAt(at))) {
            at++;
        }
        return at;
    }

    /** The index of the quote that closes the field opened at {@code open}, or -1. */
    private static int closingQuote(String line, int open) {
        for (int i = open + 1; i < line.length(); i++) {
            if (line.charAt(i) == '"') {
                if (i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    i++; // an escaped quote
                } else {
                    return i;
                }
            }
        }
        return -1;
    }

    /** The role's secret, or null when the file does not list it. */
    public String secretOf(String role) {
        return secrets.get(role);
    }

    /** Whether a secret is a stored verifier (SCRAM-SHA-256 or md5, as pg_authid holds them) rather than a password. */
    public static boolean isVerifier(String secret) {
        return secret.startsWith("SCRAM-SHA-256$") || secret.matches("md5[0-9a-f]{32}");
    }
}
