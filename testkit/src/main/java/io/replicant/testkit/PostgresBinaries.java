package io.replicant.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Finds the PostgreSQL server binaries: {@code pg_config --bindir}, else the newest {@code /usr/lib/postgresql/N/bin}. */
public final class PostgresBinaries {
    static final String HOW_TO_INSTALL = "PostgreSQL server binaries (initdb, pg_ctl, postgres, pg_basebackup) were not "
            + "found via 'pg_config --bindir' or /usr/lib/postgresql/*/bin. Install them, e.g. on Debian/Ubuntu: "
            + "'apt-get install -y postgresql-15' (as root), then run the tests again.";

    private final Path binDir;

    private PostgresBinaries(Path binDir) {
        this.binDir = binDir;
    }

    public static PostgresBinaries locate() {
        return locate("pg_config", Path.of("/usr/lib/postgresql"));
    }

    /** @throws IllegalStateException saying how to install the binaries when there are none */
    static PostgresBinaries locate(String pgConfig, Path base) {
        Path fromPgConfig = fromPgConfig(pgConfig);
        if (fromPgConfig != null && hasServer(fromPgConfig)) {
            return new PostgresBinaries(fromPgConfig);
        }
        if (Files.isDirectory(base)) {
            try (Stream<Path> versions = Files.list(base)) {
                List<Path> candidates = versions.map(v -> v.resolve("bin")).filter(PostgresBinaries::hasServer)
                        .sorted(Comparator.comparing(PostgresBinaries::majorVersion).reversed())
                        .collect(Collectors.toList());
                if (!candidates.isEmpty()) {
                    return new PostgresBinaries(candidates.get(0));
                }
            } catch (IOException e) {
                throw new IllegalStateException(HOW_TO_INSTALL, e);
            }
        }
        throw new IllegalStateException(HOW_TO_INSTALL);
    }

    private static int majorVersion(Path bin) {
        try {
            return Integer.parseInt(bin.getParent().getFileName().toString());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static Path fromPgConfig(String pgConfig) {
        try {
            Process p = new ProcessBuilder(pgConfig, "--bindir").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 && !out.isEmpty()) {
                return Path.of(out);
            }
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return null;
    }

    private static boolean hasServer(Path bin) {
        return Stream.of("initdb", "pg_ctl", "postgres", "pg_basebackup")
                .allMatch(name -> Files.isExecutable(bin.resolve(name)));
    }

    public String path(String program) {
        return binDir.resolve(program).toString();
    }

    public Path binDir() {
        return binDir;
    }
}
