package io.replicant.proxy.backend;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import javax.net.ssl.SSLException;

import org.postgresql.PGProperty;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.replicant.config.ConfigException;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.SqlState;

/**
 * How the proxy secures its own connections to the servers, from the pgjdbc properties of the {@code jdbc:}
 * section: TLS (sslmode, sslrootcert, sslcert, sslkey, sslpassword), channelBinding and requireAuth, with the same
 * meaning and defaults as for the driver's connections (and the proxy's monitor), so one configuration secures
 * both. Loaded once, at start; a property the proxy cannot honour is refused then rather than ignored.
 */
public final class ServerSecurity {
    /** pgjdbc's (and libpq's) sslmode. */
    enum Mode {
        DISABLE, ALLOW, PREFER, REQUIRE, VERIFY_CA, VERIFY_FULL;

        boolean verifies() {
            return this == VERIFY_CA || this == VERIFY_FULL;
        }
    }

    /** pgjdbc's channelBinding: whether SCRAM logins over TLS bind to the server's certificate. */
    enum ChannelBinding {
        DISABLE, PREFER, REQUIRE
    }

    private static final List<PGProperty> NOT_SUPPORTED = List.of(PGProperty.SSL_FACTORY,
            PGProperty.SSL_FACTORY_ARG, PGProperty.SSL_HOSTNAME_VERIFIER, PGProperty.SSL_PASSWORD_CALLBACK);

    private static final List<String> LOGIN_METHODS = List.of("password", "md5", "gss", "sspi", "scram-sha-256",
            "none");

    private final Mode mode;
    private final ChannelBinding channelBinding;
    private final SslContext context;
    /** requireAuth as given, and the login methods it leaves; null when not set. */
    private final String requireAuth;
    private final Set<String> allowedMethods;

    private ServerSecurity(Mode mode, ChannelBinding channelBinding, SslContext context, String requireAuth,
            Set<String> allowedMethods) {
        this.mode = mode;
        this.channelBinding = channelBinding;
        this.context = context;
        this.requireAuth = requireAuth;
        this.allowedMethods = allowedMethods;
    }

    /**
     * @throws ConfigException naming the {@code jdbc.} property that cannot be honoured or whose file cannot be
     *                         read
     */
    public static ServerSecurity of(ReplicantConfig config) {
        Map<String, String> properties = config.jdbcProperties();
        String origin = config.source();
        for (PGProperty unsupported : NOT_SUPPORTED) {
            if (properties.containsKey(unsupported.getName())) {
                throw new ConfigException("jdbc." + unsupported.getName(), "the proxy makes its own TLS connections "
                        + "to the servers and cannot use a pgjdbc class for them; use sslmode, sslrootcert, sslcert, "
                        + "sslkey and sslpassword", origin);
            }
        }
        if ("direct".equals(properties.get(PGProperty.SSL_NEGOTIATION.getName()))) {
            throw new ConfigException("jdbc." + PGProperty.SSL_NEGOTIATION.getName(), "direct: the proxy negotiates "
                    + "TLS the way PostgreSQL 15 expects (an SSLRequest first); remove it or set postgres", origin);
        }
        if ("require".equals(properties.get(PGProperty.GSS_ENC_MODE.getName()))) {
            throw new ConfigException("jdbc." + PGProperty.GSS_ENC_MODE.getName(), "require: the proxy does not "
                    + "encrypt server connections with GSSAPI; use sslmode instead", origin);
        }
        Mode mode = mode(properties);
        ChannelBinding binding = ChannelBinding.valueOf(properties.getOrDefault(
                PGProperty.CHANNEL_BINDING.getName(), "prefer").toUpperCase(Locale.ROOT));
        String requireAuth = properties.get(PGProperty.REQUIRE_AUTH.getName());
        Set<String> allowed = requireAuth == null ? null : allowedMethods(requireAuth, origin);
        if (mode == Mode.DISABLE) {
            return new ServerSecurity(mode, binding, null, requireAuth, allowed);
        }
        try {
            SslContextBuilder builder = SslContextBuilder.forClient();
            if (mode.verifies()) {
                Path rootCert = PgjdbcKeyFiles.file(properties, PGProperty.SSL_ROOT_CERT, "root.crt", true, origin);
                builder.trustManager(PgjdbcKeyFiles.certificates(rootCert, PGProperty.SSL_ROOT_CERT, origin));
            } else {
                builder.trustManager(InsecureTrustManagerFactory.INSTANCE); // pgjdbc's require/prefer/allow
            }
            if (mode == Mode.VERIFY_FULL) {
                builder.endpointIdentificationAlgorithm("HTTPS"); // the host name (or IP) must be in the certificate
            }
            clientCertificate(builder, properties, origin);
            return new ServerSecurity(mode, binding, builder.build(), requireAuth, allowed);
        } catch (SSLException e) {
            throw new ConfigException("jdbc." + PGProperty.SSL_MODE.getName(), "cannot set up TLS to the servers: "
                    + e.getMessage(), origin, SqlState.CONFIG_FILE_ERROR, e);
        }
    }

    /** libpq's require_auth: the methods listed, or all but those listed with '!' (one form or the other). */
    private static Set<String> allowedMethods(String requireAuth, String origin) {
        List<String> listed = new ArrayList<>();
        for (String part : requireAuth.split(",")) {
            listed.add(part.trim().toLowerCase(Locale.ROOT));
        }
        boolean negated = listed.get(0).startsWith("!");
        Set<String> allowed = new HashSet<>(negated ? LOGIN_METHODS : List.of());
        for (String method : listed) {
            String name = negated ? method.substring(Math.min(1, method.length())) : method;
            if (method.startsWith("!") != negated || !LOGIN_METHODS.contains(name)) {
                throw new ConfigException("jdbc." + PGProperty.REQUIRE_AUTH.getName(), "expected methods from "
                        + String.join(", ", LOGIN_METHODS) + ", all with '!' or none, got '" + requireAuth + "'",
                        origin);
            }
            if (negated) {
                allowed.remove(name);
            } else {
                allowed.add(name);
            }
        }
        return allowed;
    }

    /** pgjdbc's rule: sslmode when given; else {@code ssl=true} (or an empty {@code ssl}) means verify-full. */
    private static Mode mode(Map<String, String> properties) {
        String sslmode = properties.get(PGProperty.SSL_MODE.getName());
        if (sslmode != null) {
            return Mode.valueOf(sslmode.toUpperCase(Locale.ROOT).replace('-', '_'));
        }
        String ssl = properties.get(PGProperty.SSL.getName());
        return ssl != null && (ssl.isEmpty() || Boolean.parseBoolean(ssl)) ? Mode.VERIFY_FULL : Mode.PREFER;
    }

    /**
     * A client certificate for servers that ask for one (pg_hba {@code cert}, or {@code clientcert=verify-*}):
     * sslcert with an sslkey in DER PKCS-8 (optionally encrypted with sslpassword), or a PKCS-12 sslkey holding
     * both, pgjdbc's two formats. The default files are used only when they exist.
     */
    private static void clientCertificate(SslContextBuilder builder, Map<String, String> properties, String origin) {
        Path key = PgjdbcKeyFiles.file(properties, PGProperty.SSL_KEY, "postgresql.pk8", false, origin);
        String password = properties.getOrDefault(PGProperty.SSL_PASSWORD.getName(), "");
        String keyName = key == null ? "" : key.getFileName().toString().toLowerCase(Locale.ROOT);
        if (keyName.endsWith(".p12") || keyName.endsWith(".pfx")) {
            builder.keyManager(PgjdbcKeyFiles.pkcs12(key, password, origin));
            return;
        }
        Path cert = PgjdbcKeyFiles.file(properties, PGProperty.SSL_CERT, "postgresql.crt", false, origin);
        if (cert == null && key == null) {
            return;
        }
        if (cert == null || key == null) {
            PGProperty present = cert == null ? PGProperty.SSL_KEY : PGProperty.SSL_CERT;
            if (!properties.containsKey(present.getName())) {
                return; // one default file alone: no client certificate, as with pgjdbc
            }
            throw new ConfigException("jdbc." + (cert == null ? PGProperty.SSL_CERT : PGProperty.SSL_KEY).getName(),
                    "missing: a client certificate needs both sslcert and sslkey", origin);
        }
        builder.keyManager(PgjdbcKeyFiles.privateKey(key, password, origin),
                PgjdbcKeyFiles.certificates(cert, PGProperty.SSL_CERT, origin).toArray(new X509Certificate[0]));
    }

    /** True when a connection starts by asking the server for TLS (every mode but disable and allow). */
    boolean asksFirst() {
        return mode != Mode.DISABLE && mode != Mode.ALLOW;
    }

    /** True when a server that declines TLS must be refused. */
    boolean required() {
        return mode == Mode.REQUIRE || mode.verifies();
    }

    /** allow: a server that refused a clear-text login is tried again over TLS. */
    boolean retriesWithTls() {
        return mode == Mode.ALLOW;
    }

    ChannelBinding channelBinding() {
        return channelBinding;
    }

    /**
     * Refuses a login method the configuration rules out, before anything is sent: {@code none} (the server let
     * the proxy in unasked), {@code password} (cleartext), {@code md5} or {@code scram-sha-256}.
     */
    void checkLoginMethod(String method) throws BackendLoginException {
        if (allowedMethods != null && !allowedMethods.contains(method)) {
            throw new BackendLoginException("08004", "the server wants the login method " + method + ", which "
                    + "jdbc.requireAuth (" + requireAuth + ") rules out");
        }
        if (channelBinding == ChannelBinding.REQUIRE && !method.equals("scram-sha-256")) {
            throw new BackendLoginException("08004", "jdbc.channelBinding is require, but the server "
                    + (method.equals("none") ? "let the proxy in without any password" : "asked for a password "
                            + "without SCRAM"));
        }
    }

    String sslmode() {
        return mode.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    SslHandler newHandler(ByteBufAllocator alloc, String host, int port) {
        return context.newHandler(alloc, host, port);
    }
}
