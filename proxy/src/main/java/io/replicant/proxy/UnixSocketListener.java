package io.replicant.proxy;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.SQLException;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.unix.DomainSocketAddress;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.SqlState;

/**
 * The proxy's Unix-domain socket ({@code proxy.unix_socket_dir}), named as PostgreSQL names its own so libpq
 * clients find it from a directory and a port. A socket file left by a process that died is replaced; one that
 * something still listens on is not.
 */
final class UnixSocketListener {
    private UnixSocketListener() {
    }

    /** PostgreSQL's name for the socket of {@code port}. */
    static Path socketPath(Path directory, int port) {
        return directory.resolve(".s.PGSQL." + port);
    }

    static Channel bind(Path directory, int port, EventLoopGroup acceptor, EventLoopGroup workers,
            ChannelHandler sessions) throws SQLException, InterruptedException {
        String option = ReplicantOptions.PROXY_UNIX_SOCKET_DIR.name();
        if (!Transport.hasUnixSockets()) {
            throw failure(option + ": Unix-domain sockets need Linux (Netty's epoll transport), which did not load");
        }
        if (!Files.isDirectory(directory)) {
            throw failure(option + ": " + directory + " is not a directory");
        }
        Path socket = socketPath(directory, port);
        removeIfStale(socket);
        Channel channel;
        try {
            channel = new ServerBootstrap().group(acceptor, workers).channel(Transport.unixServerChannel())
                    .childHandler(sessions).bind(new DomainSocketAddress(socket.toFile())).sync().channel();
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) { // Netty rethrows bind errors unchecked, e.g. a path longer than 107 bytes
            throw failure(option + ": cannot listen on " + socket + ": " + e.getMessage());
        }
        try {
            // connecting takes write permission on the file: anyone on the host, as on the loopback port
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rwxrwxrwx"));
        } catch (IOException e) {
            channel.close().syncUninterruptibly();
            throw failure(option + ": cannot open " + socket + " to other users: " + e.getMessage());
        }
        return channel;
    }

    private static void removeIfStale(Path socket) throws SQLException {
        if (!Files.exists(socket)) {
            return;
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException nobodyListens) {
            try {
                Files.delete(socket);
                return;
            } catch (IOException e) {
                throw failure(ReplicantOptions.PROXY_UNIX_SOCKET_DIR.name() + ": cannot remove the stale socket "
                        + socket + ": " + e.getMessage());
            }
        }
        throw failure(ReplicantOptions.PROXY_UNIX_SOCKET_DIR.name() + ": another process listens on " + socket
                + " (a PostgreSQL server on the same port?)");
    }

    private static SQLException failure(String message) {
        return new SQLException(message, SqlState.CONNECTION_UNABLE_TO_CONNECT.code());
    }
}
