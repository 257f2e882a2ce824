package io.replicant.proxy.session;

import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.ongres.scram.common.util.TlsServerEndpoint;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.replicant.config.ReplicantOptions;
import io.replicant.config.SqlState;
import io.replicant.proxy.AuthFile;
import io.replicant.proxy.ProxyContext;
import io.replicant.proxy.TlsSupport;
import io.replicant.proxy.admin.AdminConsole;
import io.replicant.proxy.backend.Credentials;
import io.replicant.proxy.protocol.Frame;
import io.replicant.proxy.protocol.MessageType;
import io.replicant.proxy.protocol.StartupPacket;

/**
 * A client connection up to a proven identity: the answers to SSLRequest and GSSENCRequest, CancelRequests
 * passed to the session they name, the StartupMessage's checks (proxy.max_clients, TLS, shutdown, role,
 * database) and the password exchange (SCRAM-SHA-256, md5 or trust; the password from the configuration, or the
 * role's secret from proxy.auth_file or proxy.auth_query). Its session then logs the client in to the servers.
 */
final class ClientLogin {
    private static final Logger LOG = LoggerFactory.getLogger(ClientLogin.class);
    private final ProxyContext context;
    private final Channel client;
    /** False when the connection was one more than proxy.max_clients: refused at its StartupMessage. */
    private final boolean admitted;
    /** Called once the client is who it says. */
    private final Runnable authenticated;
    /** Refuses the client with a FATAL error (SQLSTATE, message) and closes the connection. */
    private final BiConsumer<String, String> refuse;
    private final Map<String, String> startup = new LinkedHashMap<>();
    private ClientAuth auth;
    private boolean authenticating;
    /** True when the client's role came from proxy.auth_file or auth_query: servers see it, with its own keys. */
    private boolean roleCredentials;
    private Credentials credentials;
    /** A client of the admin console (database "replicant"): it never reaches a server. */
    private boolean admin;
    private boolean tls;

    ClientLogin(ProxyContext context, Channel client, boolean admitted, Runnable authenticated,
            BiConsumer<String, String> refuse) {
        this.context = context;
        this.client = client;
        this.admitted = admitted;
        this.authenticated = authenticated;
        this.refuse = refuse;
    }

    /** The StartupMessage's parameters (user, database, application_name, options, …). */
    Map<String, String> startup() {
        return startup;
    }

    /** Waiting for the client's password message(s). */
    boolean authenticating() {
        return authenticating;
    }

    boolean admin() {
        return admin;
    }

    /** True when servers see the client's own role (proxy.auth_file, proxy.auth_query), not the configured user. */
    boolean ownRole() {
        return roleCredentials;
    }

    /** What the proxy logs in to servers with for this client. */
    Credentials serverCredentials() {
        return roleCredentials ? credentials : Credentials.password(context.config().get(ReplicantOptions.PASSWORD));
    }

    void onStartup(StartupPacket packet) {
        if (packet instanceof StartupPacket.SslRequest && context.tls() != null && !tls) {
            client.writeAndFlush(client.alloc().buffer(1).writeByte('S'));
            client.pipeline().addFirst("tls", context.tls().newHandler(client.alloc())); // the rest is encrypted
            tls = true;
            return;
        }
        if (packet instanceof StartupPacket.SslRequest || packet instanceof StartupPacket.GssEncRequest) {
            client.writeAndFlush(client.alloc().buffer(1).writeByte('N')); // declined: the client decides what next
            return;
        }
        if (packet instanceof StartupPacket.CancelRequest cancel) {
            ClientSession target = context.sessionFor(cancel.processId(), cancel.secretKey());
            if (target != null) {
                target.cancelRequested();
            }
            client.close(); // the protocol expects no answer
            return;
        }
        if (!admitted) {
            refuse.accept(SqlState.TOO_MANY_CONNECTIONS.code(), "sorry, too many clients already "
                    + "(proxy.max_clients is " + context.config().get(ReplicantOptions.PROXY_MAX_CLIENTS) + ")");
            return;
        }
        if (!tls && context.config().get(ReplicantOptions.PROXY_TLS_REQUIRED)) {
            refuse.accept(SqlState.INVALID_AUTHORIZATION.code(),
                    "this proxy accepts TLS connections only (proxy.tls.required)");
            return;
        }
        if (context.draining()) {
            refuse.accept(SqlState.CANNOT_CONNECT_NOW.code(), "the proxy is shutting down");
            return;
        }
        startup.putAll(((StartupPacket.StartupMessage) packet).parameters());
        String user = startup.get("user");
        String configuredUser = context.config().get(ReplicantOptions.USER);
        String authQuery = context.config().get(ReplicantOptions.PROXY_AUTH_QUERY);
        AuthFile authFile = context.authFile();
        boolean ownRoles = authQuery != null || authFile != null;
        if (user == null || !ownRoles && configuredUser != null && !configuredUser.equals(user)) {
            refuse.accept(SqlState.INVALID_AUTHORIZATION.code(), "role \"" + user + "\" is not served by this proxy");
            return;
        }
        String database = startup.getOrDefault("database", user);
        String configuredDatabase = context.config().get(ReplicantOptions.DATABASE);
        if (AdminConsole.DATABASE.equals(database)) {
            if (configuredUser != null && !configuredUser.equals(user)) {
                refuse.accept(SqlState.INVALID_AUTHORIZATION.code(),
                        "only \"" + configuredUser + "\" may use the admin console");
                return;
            }
            admin = true;
            ownRoles = false;
        } else if (configuredDatabase != null && !configuredDatabase.equals(database)) {
            refuse.accept(SqlState.INVALID_CATALOG_NAME.code(),
                    "database \"" + database + "\" is not served by this proxy");
            return;
        }
        String method = context.config().get(ReplicantOptions.PROXY_AUTH);
        if (method.equals("trust")) {
            authenticated.run();
            return;
        }
        authenticating = true;
        String listed = ownRoles && authFile != null ? authFile.secretOf(user) : null;
        if (listed != null) {
            roleCredentials = true;
            if (AuthFile.isVerifier(listed)) {
                startAuthentication(ClientAuth.forVerifier(method, listed));
            } else { // a plain password: servers get it as it is (keys from a salt of our own would not match theirs)
                credentials = Credentials.password(listed);
                startAuthentication(ClientAuth.forPassword(method, user, listed));
            }
            return;
        }
        if (authQuery != null && !admin) {
            context.verifierOf(user).whenComplete((verifier, error) -> client.eventLoop().execute(() -> {
                if (!client.isActive()) {
                    return;
                }
                if (error != null) {
                    refuse.accept(SqlState.CONNECTION_UNABLE_TO_CONNECT.code(), "the proxy could not look up role \""
                            + user + "\" with proxy.auth_query: " + error.getCause().getMessage());
                    return;
                }
                startAuthentication(ClientAuth.forVerifier(method, verifier));
                roleCredentials = true;
            }));
            return;
        }
        String password = context.config().get(ReplicantOptions.PASSWORD);
        if (ownRoles && !admin && !user.equals(configuredUser)) {
            startAuthentication(ClientAuth.forVerifier(method, null)); // fails at the end, like a wrong password
            return;
        }
        if (password == null) {
            refuse.accept(SqlState.INVALID_PASSWORD.code(),
                    "proxy.auth is " + method + " but no password is configured");
            return;
        }
        startAuthentication(ClientAuth.forPassword(method, user, password));
    }

    private void startAuthentication(ClientAuth exchange) {
        auth = exchange;
        if (tls) {
            try {
                Certificate proxyCertificate = TlsSupport.session(client).getLocalCertificates()[0];
                auth.offerChannelBinding(TlsServerEndpoint.getChannelBindingData((X509Certificate) proxyCertificate));
            } catch (CertificateEncodingException e) {
                LOG.warn("[proxy] no SCRAM channel binding for {}: {}", client.remoteAddress(), e.getMessage());
            }
        }
        client.writeAndFlush(auth.request(client.alloc()));
    }

    /** A message from a client that is logging in (the caller keeps the frame). */
    void onPassword(Frame frame) {
        if (auth == null || frame.type() != MessageType.PASSWORD) { // nothing may come before our request
            refuse.accept(SqlState.PROTOCOL_VIOLATION.code(), "expected a password message, got message type '"
                    + (char) frame.type() + "'");
            return;
        }
        try {
            ByteBuf answer = auth.answer(frame, client.alloc());
            if (answer != null) {
                client.writeAndFlush(answer);
            }
            if (auth.done()) {
                if (roleCredentials && credentials == null) {
                    credentials = auth.credentials();
                }
                auth = null;
                authenticating = false;
                authenticated.run();
            }
        } catch (ClientAuth.Failure e) {
            context.authFailed();
            refuse.accept(SqlState.INVALID_PASSWORD.code(), e.getMessage() != null ? e.getMessage()
                    : "password authentication failed for user \"" + startup.get("user") + "\"");
        }
    }
}
