package io.replicant.proxy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.replicant.config.ConfigException;
import io.replicant.config.HostSpec;
import io.replicant.config.Option;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.SqlState;
import io.replicant.jdbc.Cluster;
import io.replicant.proxy.backend.ServerSecurity;
import io.replicant.proxy.protocol.FrontendDecoder;
import io.replicant.proxy.session.ClientSession;

/**
 * The sidecar proxy: accepts PostgreSQL clients on {@code proxy.listen} and routes their statements with the
 * same router, rules, hints and replica monitor as the JDBC driver. Start it from the command line
 * ({@code replicant proxy --config replicant.yaml}) or in-process with {@link #start}.
 */
public final class ReplicantProxy implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicantProxy.class);

    private final Cluster cluster;
    private final EventLoopGroup acceptor;
    private final EventLoopGroup workers;
    private final Channel server;
    /** The Unix-domain socket's listener, or null. */
    private final Channel unixServer;
    private final ProxyContext context;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final OpsEndpoint ops;

    private ReplicantProxy(Cluster cluster, EventLoopGroup acceptor, EventLoopGroup workers, Channel server,
            Channel unixServer, ProxyContext context, OpsEndpoint ops) {
        this.ops = ops;
        this.cluster = cluster;
        this.acceptor = acceptor;
        this.workers = workers;
        this.server = server;
        this.unixServer = unixServer;
        this.context = context;
    }

    /**
     * Opens the cluster (checking the primary and the credentials) and starts listening.
     *
     * @throws SQLException if the cluster cannot be opened, or 22023 for a bad {@code proxy.listen}
     * @throws ConfigException if the TLS certificate or key cannot be loaded
     */
    public static ReplicantProxy start(ReplicantConfig config, MeterRegistry registry) throws SQLException {
        return start(config, null, registry);
    }

    /**
     * Starts from a configuration source that RELOAD and SIGHUP read again. {@code registry} may be null: the
     * proxy's own Prometheus registry (served on {@code proxy.http.listen}) always gets every meter.
     *
     * @throws ConfigException if the configuration is invalid
     */
    public static ReplicantProxy start(ConfigReload.Source source, MeterRegistry registry) throws SQLException {
        return start(source.load(), source, registry);
    }

    private static ReplicantProxy start(ReplicantConfig config, ConfigReload.Source source, MeterRegistry registry)
            throws SQLException {
        InetSocketAddress listen = listenAddress(ReplicantOptions.PROXY_LISTEN, config);
        String http = config.get(ReplicantOptions.PROXY_HTTP_LISTEN);
        InetSocketAddress httpAddress = http.equals("off") ? null : listenAddress(ReplicantOptions.PROXY_HTTP_LISTEN,
                config);
        SslContext tls = TlsSupport.serverContext(config);
        ServerSecurity serverSecurity = ServerSecurity.of(config);
        AuthFile authFile = AuthFile.of(config);
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        MeterRegistry meters = meters(prometheus, registry);
        Cluster cluster = Cluster.open(config, meters);
        ProxyContext context = new ProxyContext(config, source, cluster, tls, serverSecurity, authFile, meters);
        OpsEndpoint ops;
        try {
            ops = httpAddress == null ? null : OpsEndpoint.start(httpAddress, prometheus, context);
        } catch (IOException e) {
            cluster.close();
            throw new SQLException("the proxy could not listen on " + httpAddress + " (proxy.http.listen): "
                    + e.getMessage(), SqlState.CONNECTION_UNABLE_TO_CONNECT.code(), e);
        }
        EventLoopGroup acceptor = Transport.eventLoops(1);
        int threads = config.get(ReplicantOptions.PROXY_THREADS);
        EventLoopGroup workers = Transport.eventLoops(threads > 0 ? threads
                : Runtime.getRuntime().availableProcessors());
        ChannelInitializer<Channel> sessions = new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                long maxMessage = context.config().get(ReplicantOptions.PROXY_MAX_MESSAGE_SIZE);
                ch.pipeline().addLast(new FrontendDecoder(maxMessage), new ClientSession(context));
            }
        };
        Channel server = null;
        try {
            server = new ServerBootstrap().group(acceptor, workers).channel(Transport.serverChannel())
                    .childOption(ChannelOption.TCP_NODELAY, true).childHandler(sessions).bind(listen).sync().channel();
            String unixDirectory = config.get(ReplicantOptions.PROXY_UNIX_SOCKET_DIR);
            Channel unixServer = unixDirectory == null ? null : UnixSocketListener.bind(Path.of(unixDirectory),
                    ((InetSocketAddress) server.localAddress()).getPort(), acceptor, workers, sessions);
            LOG.info("[proxy] listening on {}{} for cluster {} ({}); HTTP endpoint {}", server.localAddress(),
                    unixServer == null ? "" : " and " + unixServer.localAddress(), cluster.name(), Transport.name(),
                    ops == null ? "off" : ops.address());
            long period = TrafficStats.PERIOD.toMillis();
            acceptor.scheduleAtFixedRate(context::endStatsPeriod, period, period, TimeUnit.MILLISECONDS);
            return new ReplicantProxy(cluster, acceptor, workers, server, unixServer, context, ops);
        } catch (Exception e) {
            if (server != null) {
                server.close().syncUninterruptibly();
            }
            acceptor.shutdownGracefully();
            workers.shutdownGracefully();
            if (ops != null) {
                ops.close();
            }
            cluster.close();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            if (e instanceof SQLException sql) {
                throw sql;
            }
            throw new SQLException("the proxy could not listen on " + listen + ": " + e.getMessage(),
                    SqlState.CONNECTION_UNABLE_TO_CONNECT.code(), e);
        }
    }

    /** Prometheus (for /metrics) plus the caller's registry, if any, with the JVM's own meters bound. */
    private static MeterRegistry meters(PrometheusMeterRegistry prometheus, MeterRegistry registry) {
        MeterRegistry meters = registry == null ? prometheus
                : new CompositeMeterRegistry().add(prometheus).add(registry);
        new JvmMemoryMetrics().bindTo(meters);
        new JvmGcMetrics().bindTo(meters);
        new JvmThreadMetrics().bindTo(meters);
        new ProcessorMetrics().bindTo(meters);
        return meters;
    }

    static InetSocketAddress listenAddress(Option<String> option, ReplicantConfig config) throws SQLException {
        try {
            return HostSpec.listenAddress(config.get(option));
        } catch (IllegalArgumentException e) {
            throw new SQLException(option.name() + ": " + e.getMessage(), SqlState.INVALID_PARAMETER_VALUE.code());
        }
    }

    /** Where the proxy listens (the real port when {@code proxy.listen} asked for port 0). */
    public InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    /** Where the HTTP endpoint listens; null when {@code proxy.http.listen} is off. */
    public InetSocketAddress httpAddress() {
        return ops == null ? null : ops.address();
    }

    public ProxyContext context() {
        return context;
    }

    /**
     * Shuts down gracefully: stops accepting, ends each session once it is outside a transaction, waits up to
     * {@code proxy.shutdown_timeout} for the rest, then closes everything (rolling back what is still open).
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        server.close().syncUninterruptibly();
        if (unixServer != null) {
            unixServer.close().syncUninterruptibly(); // and Netty removes the socket file
        }
        context.drain();
        long deadline = System.nanoTime() + context.config().get(ReplicantOptions.PROXY_SHUTDOWN_TIMEOUT).toNanos();
        while (!context.sessions().isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!context.sessions().isEmpty()) {
            LOG.warn("[proxy] {} sessions still in a transaction after proxy.shutdown_timeout; closing them",
                    context.sessions().size());
        }
        context.closePools();
        workers.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        acceptor.shutdownGracefully().syncUninterruptibly();
        if (ops != null) {
            ops.close();
        }
        context.close();
        cluster.close();
        LOG.info("[proxy] stopped");
    }
}
