package io.replicant.cdc.apply;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import io.replicant.cdc.event.TableId;
import io.replicant.config.HostSpec;
import io.replicant.config.ReplicantConfig;
import io.replicant.config.ReplicantOptions;

/** The primary as the pipeline sees it besides the change stream: table definitions, WAL position, the slot. */
public final class SourceCatalog {
    private static final String COLUMNS = """
            SELECT a.attname,
                   CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod)
                        ELSE format_type(a.atttypid, a.atttypmod) END,
                   t.typtype, et.typtype, a.attnotnull, coalesce(a.attnum = ANY (i.indkey), false)
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
            LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
            WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum""";

    private final String url;
    private final Properties properties = new Properties();

    public SourceCatalog(ReplicantConfig config) {
        HostSpec primary = config.hosts().get(0);
        String database = config.get(ReplicantOptions.DATABASE);
        this.url = "jdbc:postgresql://" + primary.address() + "/" + (database == null ? "" : database);
        properties.putAll(config.jdbcProperties()); // TLS and the like, as for every connection to the cluster
        setIfPresent("user", config.get(ReplicantOptions.USER));
        setIfPresent("password", config.get(ReplicantOptions.PASSWORD));
        properties.setProperty("ApplicationName", "replicant-cdc");
        // The pipeline's housekeeping must not hang on a primary that stopped answering.
        properties.setProperty("connectTimeout", "10");
        properties.setProperty("socketTimeout", "60");
    }

    private void setIfPresent(String key, String value) {
        if (value != null) {
            properties.setProperty(key, value);
        }
    }

    /** The table's columns in order; empty when the table does not exist. */
    public List<SourceColumn> columns(TableId table) throws SQLException {
        try (Connection connection = connect(); PreparedStatement statement = connection.prepareStatement(COLUMNS)) {
            statement.setString(1, table.schema());
            statement.setString(2, table.table());
            List<SourceColumn> columns = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    String elementKind = rs.getString(4);
                    columns.add(new SourceColumn(rs.getString(1), rs.getString(2), rs.getString(3).charAt(0),
                            elementKind == null ? null : elementKind.charAt(0), rs.getBoolean(5), rs.getBoolean(6)));
                }
            }
            return columns;
        }
    }

    /** A connection to the primary as the pipeline's user. */
    public Connection connect() throws SQLException {
        return DriverManager.getConnection(url, properties);
    }

    /** Runs one statement on the primary, e.g. to create the heartbeat table. */
    public void execute(String sql) throws SQLException {
        try (Connection connection = connect(); Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }
}
