package io.replicant.proxy;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay in front of a server that records how each connection through it begins: the request code of its
 * first packet (SSLRequest, CancelRequest, or a StartupMessage's protocol version). It shows what a client sends
 * before any TLS starts.
 */
final class ConnectionStarts implements AutoCloseable {
    static final int SSL_REQUEST = 80877103;
    static final int CANCEL_REQUEST = 80877102;

    private final ServerSocket listener;
    private final int target;
    private final List<Integer> codes = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    ConnectionStarts(int targetPort) throws IOException {
        this.target = targetPort;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread accepting = new Thread(this::accept, "connection-starts");
        accepting.setDaemon(true);
        accepting.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    /** The first packet's code of every connection so far. */
    List<Integer> codes() {
        return List.copyOf(codes);
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket(InetAddress.getLoopbackAddress(), target);
                sockets.add(client);
                sockets.add(server);
                byte[] first = new byte[8]; // length and code: every first packet has both
                new DataInputStream(client.getInputStream()).readFully(first);
                codes.add(((first[4] & 0xff) << 24) | ((first[5] & 0xff) << 16) | ((first[6] & 0xff) << 8) | (first[7] & 0xff));
                server.getOutputStream().write(first);
                pipe(client.getInputStream(), server.getOutputStream());
                pipe(server.getInputStream(), client.getOutputStream());
            } catch (IOException e) {
                // closed, or a connection that ended before its first packet
            }
        }
    }

    private static void pipe(InputStream in, OutputStream out) {
        Thread t = new Thread(() -> {
            try (in; out) {
                in.transferTo(out);
            } catch (IOException e) {
                // one side closed
            }
        }, "connection-starts-pipe");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
