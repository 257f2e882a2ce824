package io.replicant.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Opens N idle pgjdbc connections to a running proxy and reports the proxy's heap after a full GC, before
 * and with the clients: {@code IdleClients host port n proxyPid} (used by {@code bench/proxy memory}).
 */
public final class IdleClients {
    private static final Pattern G1_USED = Pattern.compile("garbage-first heap\\s+total (\\d+)K, used (\\d+)K");
    private static final Pattern ANY_USED = Pattern.compile("total (\\d+)K, used (\\d+)K");

    private IdleClients() {
    }

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        int n = Integer.parseInt(args[2]);
        long pid = Long.parseLong(args[3]);
        long before = heapUsedKb(pid);
        long rssBefore = rssKb(pid);
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("assumeMinServerVersion", "10"); // settings in the startup packet: a login runs no query
        List<Connection> clients = new ArrayList<>(n);
        try {
            for (int i = 0; i < n; i++) {
                clients.add(DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/bench", p));
            }
            long with = heapUsedKb(pid);
            long rssWith = rssKb(pid);
            System.out.println("| idle clients | heap used after full GC | per client | process RSS |");
            System.out.println("|---|---|---|---|");
            System.out.printf("| 0 | %.1f MB | | %.1f MB |%n", before / 1024.0, rssBefore / 1024.0);
            System.out.printf("| %d | %.1f MB | %.1f kB | %.1f MB |%n", n, with / 1024.0,
                    (with - before) / (double) n, rssWith / 1024.0);
        } finally {
            for (Connection c : clients) {
                try {
                    c.close();
                } catch (SQLException ignored) {
                    // closing anyway
                }
            }
        }
    }

    /** Used heap in kB right after a full GC of the process, from jcmd. */
    private static long heapUsedKb(long pid) throws IOException, InterruptedException {
        jcmd(pid, "GC.run");
        String info = jcmd(pid, "GC.heap_info");
        Matcher m = G1_USED.matcher(info);
        if (!m.find()) {
            m = ANY_USED.matcher(info);
            if (!m.find()) {
                throw new IllegalStateException("cannot read the heap from jcmd GC.heap_info:\n" + info);
            }
        }
        return Long.parseLong(m.group(2));
    }

    private static long rssKb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return -1;
    }

    private static String jcmd(long pid, String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("jcmd", Long.toString(pid), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("jcmd " + command + " failed: " + out);
        }
        return out;
    }
}
