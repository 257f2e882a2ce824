package io.replicant.testkit;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension that injects the shared {@link LocalPostgresCluster} (a primary and two streaming
 * replicas, statement logging on). It is started once per test JVM, on first use, and torn down when the
 * test run ends. Tests that break the topology (stop, kill, promote) should start their own cluster with
 * {@link LocalPostgresCluster#builder()} instead of using this shared one.
 *
 * <p>If the PostgreSQL binaries are missing, every test asking for the cluster fails with a message saying
 * how to install them; nothing is skipped.
 */
public final class PostgresClusterExtension implements ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(PostgresClusterExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == LocalPostgresCluster.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return shared(context);
    }

    /** The shared cluster, started on first call. */
    public static LocalPostgresCluster shared(ExtensionContext context) {
        return context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent("cluster",
                key -> LocalPostgresCluster.builder().replicas(2).logStatements(true).start(),
                LocalPostgresCluster.class);
    }
}
