package io.replicant.proxy.session;

import java.util.Locale;

import io.replicant.config.ReplicantOptions;
import io.replicant.config.SqlState;
import io.replicant.proxy.ProxyContext;
import io.replicant.router.Hints;
import io.replicant.router.Lsn;

/**
 * One session's values of the proxy's own settings, as {@link ProxyStatement}s set and show them:
 * {@code replicant.consistency} (the configured mode unless set) and {@code replicant.consistency_token} (the
 * session's {@link ReadPosition}).
 */
final class OwnSettings {
    private final ProxyContext context;
    private final ReadPosition position;
    /** Set with SET replicant.consistency; null for the configured mode. */
    private String consistency;

    OwnSettings(ProxyContext context, ReadPosition position) {
        this.context = context;
        this.position = position;
    }

    String consistency() {
        return consistency != null ? consistency : context.config().get(ReplicantOptions.CONSISTENCY);
    }

    LocalAnswer.Outcome execute(ProxyStatement s, char transactionStatus) {
        if (transactionStatus == 'E') {
            return LocalAnswer.Outcome.failed(SqlState.IN_FAILED_SQL_TRANSACTION.code(),
                    "current transaction is aborted, commands ignored until end of transaction block");
        }
        if (s.verb() == ProxyStatement.Verb.UNSUPPORTED) {
            return LocalAnswer.Outcome.failed(SqlState.FEATURE_NOT_SUPPORTED.code(), ProxyStatement.MUST_STAND_ALONE);
        }
        if (s.verb() == ProxyStatement.Verb.SET && s.value() == null) {
            return LocalAnswer.Outcome.failed(SqlState.SYNTAX_ERROR.code(), "SET " + s.name() + " needs a value");
        }
        switch (s.name()) {
            case ProxyStatement.CONSISTENCY:
                if (s.verb() == ProxyStatement.Verb.SHOW) {
                    return LocalAnswer.Outcome.shown(consistency());
                }
                String mode = s.value() == null ? null : s.value().toLowerCase(Locale.ROOT);
                if (mode != null && !Hints.CONSISTENCY_MODES.contains(mode)) {
                    return LocalAnswer.Outcome.failed(SqlState.INVALID_PARAMETER_VALUE.code(), "invalid value for "
                            + "parameter \"" + s.name() + "\": \"" + s.value() + "\" (one of " + Hints.CONSISTENCY_MODES
                            + ")");
                }
                consistency = mode;
                return LocalAnswer.Outcome.DONE;
            case ProxyStatement.CONSISTENCY_TOKEN:
                return consistencyToken(s);
            default:
                return LocalAnswer.Outcome.failed(SqlState.UNDEFINED_OBJECT.code(),
                        "unrecognized configuration parameter \"" + s.name() + "\"");
        }
    }

    private LocalAnswer.Outcome consistencyToken(ProxyStatement s) {
        switch (s.verb()) {
            case SHOW:
                Long token = position.token(context.cluster().monitor());
                if (token == null) {
                    String problem = context.cluster().primaryProblem();
                    return LocalAnswer.Outcome.failed(SqlState.OBJECT_NOT_IN_PREREQUISITE_STATE.code(), "the primary's "
                            + "WAL position after this session's last statement was not learnt within "
                            + "failover.detect_timeout" + (problem == null ? "" : ": " + problem));
                }
                return LocalAnswer.Outcome.shown(token == Lsn.UNKNOWN ? "" : Lsn.format(token));
            case SET:
                try {
                    if (!s.value().isBlank()) {
                        position.require(Lsn.parse(s.value().trim()));
                    }
                    return LocalAnswer.Outcome.DONE;
                } catch (IllegalArgumentException e) {
                    return LocalAnswer.Outcome.failed(SqlState.INVALID_PARAMETER_VALUE.code(),
                            "invalid consistency token: " + e.getMessage());
                }
            default:
                return LocalAnswer.Outcome.failed(SqlState.FEATURE_NOT_SUPPORTED.code(), "a consistency token only "
                        + "moves forward; a new connection starts without one");
        }
    }
}
