package io.replicant.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs server-side commands. PostgreSQL refuses to run as root, so when this JVM is root the command runs
 * as the {@code postgres} OS user through {@code runuser}.
 */
final class OsCommand {
    static final String SERVER_USER = "postgres";
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    private OsCommand() {
    }

    static boolean runningAsRoot() {
        return ROOT;
    }

    /** Runs the command to completion and returns its output; fails with the output on a non-zero exit. */
    static String run(Path logDir, long timeoutSeconds, String... command) {
        List<String> full = new ArrayList<>();
        if (ROOT) {
            full.add("runuser");
            full.add("-u");
            full.add(SERVER_USER);
            full.add("--");
        }
        full.addAll(List.of(command));
        ProcessBuilder pb = new ProcessBuilder(full).redirectErrorStream(true);
        pb.directory(new File("/tmp")); // runuser keeps root's cwd, which postgres may not be able to read
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        try {
            Process process = pb.start();
            process.getOutputStream().close();
            byte[] out = process.getInputStream().readAllBytes();
            if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("timed out after " + timeoutSeconds + "s: " + String.join(" ", command));
            }
            String text = new String(out);
            if (process.exitValue() != 0) {
                throw new IllegalStateException("command failed (exit " + process.exitValue() + "): "
                        + String.join(" ", command) + "\n" + text + (logDir != null ? "\n(logs in " + logDir + ")" : ""));
            }
            return text;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + full + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + String.join(" ", command), e);
        }
    }

    /** Runs a plain command as this JVM's user (chown, kill). */
    static void runAsSelf(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(process.getInputStream().readAllBytes());
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IllegalStateException("command failed: " + String.join(" ", command) + "\n" + out);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
