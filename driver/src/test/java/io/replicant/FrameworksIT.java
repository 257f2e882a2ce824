package io.replicant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.hibernate.SessionFactory;
import org.hibernate.cfg.AvailableSettings;
import org.hibernate.cfg.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.replicant.testkit.LocalPostgresCluster;
import io.replicant.testkit.PostgresClusterExtension;
import io.replicant.testkit.StatementLog;

/**
 * The frameworks apps put on top: an application-side HikariCP pool over {@link ReplicantDataSource}, a
 * Flyway migration through it, and Hibernate ORM saving, querying and reading in a read-only transaction.
 */
@ExtendWith(PostgresClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FrameworksIT {
    private LocalPostgresCluster cluster;
    private ReplicantDataSource replicant;
    private HikariDataSource appPool;

    @BeforeAll
    void setUp(LocalPostgresCluster cluster) {
        this.cluster = cluster;
        replicant = ClusterFixture.dataSource(cluster, "");
        HikariConfig config = new HikariConfig();
        config.setDataSource(replicant);
        config.setMaximumPoolSize(4);
        config.setPoolName("app-pool");
        appPool = new HikariDataSource(config);
    }

    @AfterAll
    void tearDown() {
        appPool.close();
        replicant.close();
    }

    @Test
    @Order(1)
    void flywayMigratesThroughReplicant() throws SQLException {
        MigrateResult result = Flyway.configure().dataSource(appPool).schemas("fw").locations("classpath:db/migration").load()
                .migrate();
        assertTrue(result.success);
        assertEquals(2, result.migrationsExecuted);
        try (Connection direct = ClusterFixture.direct(cluster); Statement s = direct.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM fw.flyway_schema_history WHERE success AND type = 'SQL'")) {
            rs.next();
            assertEquals(2, rs.getInt(1), "both migrations recorded on the primary");
        }
    }

    @Test
    @Order(2)
    void hikariPoolOverReplicant() throws SQLException {
        cluster.awaitReplay();
        StatementLog.Mark mark = cluster.markLogs();
        for (int i = 0; i < 8; i++) {
            try (Connection c = appPool.getConnection(); Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT count(*) FROM fw.fw_book /* fw-pool-read */")) {
                rs.next();
                assertTrue(rs.getInt(1) >= 1);
            }
        }
        try (Connection c = appPool.getConnection(); Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO fw.fw_book (title) VALUES ('via pool') /* fw-pool-write */");
        }
        assertEquals(Set.of("replica1", "replica2"), mark.nodesThatLogged("fw-pool-read"));
        assertEquals(Set.of("primary"), mark.nodesThatLogged("fw-pool-write"));
    }

    @Test
    @Order(3)
    void hibernateSavesQueriesAndReadsInAReadOnlyTransaction() {
        Configuration cfg = new Configuration().addAnnotatedClass(Book.class);
        cfg.getProperties().put(AvailableSettings.JAKARTA_NON_JTA_DATASOURCE, appPool);
        cfg.setProperty(AvailableSettings.HBM2DDL_AUTO, "none");
        try (SessionFactory sessions = cfg.buildSessionFactory()) {
            Book saved = sessions.fromTransaction(session -> {
                Book book = new Book("Written by Hibernate");
                session.persist(book);
                return book;
            });
            assertNotNull(saved.getId());
            cluster.awaitReplay();

            AtomicReference<RouteExplanation> where = new AtomicReference<>();
            List<String> titles = sessions.fromSession(session -> {
                // what Spring's @Transactional(readOnly = true) does to the JDBC connection
                session.doWork(c -> c.setReadOnly(true));
                session.beginTransaction();
                List<String> result = session.createSelectionQuery("select b.title from Book b order by b.id", String.class)
                        .getResultList();
                session.doWork(c -> where.set(c.unwrap(ReplicantConnection.class).lastRoute()));
                session.getTransaction().commit();
                session.doWork(c -> c.setReadOnly(false));
                return result;
            });
            assertTrue(titles.contains("Written by Hibernate"), titles::toString);
            assertTrue(titles.contains("Seeded by Flyway"), titles::toString);
            assertEquals("replica", where.get().target());
            assertEquals("read_only_transaction", where.get().reason());

            Book found = sessions.fromTransaction(session -> session.find(Book.class, saved.getId()));
            assertEquals("Written by Hibernate", found.getTitle());
        }
    }
}
