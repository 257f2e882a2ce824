package io.replicant.proxy;

import java.io.File;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.replicant.config.ConfigException;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.SqlState;

/**
 * The proxy's TLS for clients, from {@code proxy.tls.cert} and {@code proxy.tls.key} (loaded at start and on
 * RELOAD), and the TLS session of any of its connections.
 */
public final class TlsSupport {
    private TlsSupport() {
    }

    /** The TLS session of a client or server connection, or null when it runs in clear. */
    public static SSLSession session(Channel channel) {
        SslHandler tls = channel.pipeline().get(SslHandler.class);
        return tls == null ? null : tls.engine().getSession();
    }

    /**
     * @return null when TLS is not configured
     * @throws ConfigException if only one of the files is given, or they cannot be read as a PEM pair
     */
    static SslContext serverContext(ReplicantConfig config) {
        String cert = config.get(ReplicantOptions.PROXY_TLS_CERT);
        String key = config.get(ReplicantOptions.PROXY_TLS_KEY);
        if (cert == null && key == null) {
            if (config.get(ReplicantOptions.PROXY_TLS_REQUIRED)) {
                throw new ConfigException(ReplicantOptions.PROXY_TLS_REQUIRED.name(),
                        "true, but proxy.tls.cert and proxy.tls.key are not set", config.source());
            }
            return null;
        }
        if (cert == null || key == null) {
            throw new ConfigException(cert == null ? ReplicantOptions.PROXY_TLS_CERT.name()
                    : ReplicantOptions.PROXY_TLS_KEY.name(), "missing: TLS needs both a certificate and its key",
                    config.source());
        }
        try {
            return SslContextBuilder.forServer(new File(cert), new File(key)).build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new ConfigException(ReplicantOptions.PROXY_TLS_CERT.name(), "cannot load the certificate " + cert
                    + " with key " + key + ": " + e.getMessage(), config.source(), SqlState.CONFIG_FILE_ERROR, e);
        }
    }
}
