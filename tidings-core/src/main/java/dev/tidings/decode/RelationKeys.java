package dev.tidings.decode;

import dev.tidings.value.CatalogLookupException;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The primary key of a table, for tables whose Relation message cannot say it: under REPLICA
 * IDENTITY FULL pgoutput flags every column as part of the key, which would make every event's
 * {@code key} (and so a Kafka record key) the whole row, and send changes of one row to different
 * partitions. Asked once per Relation message, so never on the per-row path.
 */
public interface RelationKeys {

    /** Asks nothing: the key is what pgoutput flags. */
    RelationKeys PGOUTPUT = relationId -> null;

    /** The primary key's column names, empty when the table has none; null when unknown. */
    Set<String> primaryKey(int relationId);

    /**
     * Reads {@code pg_index} through fresh connections from {@code connections} (closed after each
     * use); a failed lookup throws {@link CatalogLookupException}.
     */
    static RelationKeys fromCatalog(Supplier<Connection> connections) {
        return relationId -> {
            try (Connection c = connections.get(); PreparedStatement ps = c.prepareStatement(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                            + "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = ? AND i.indisprimary")) {
                ps.setLong(1, Integer.toUnsignedLong(relationId));
                Set<String> names = new LinkedHashSet<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        names.add(rs.getString(1));
                    }
                }
                return names;
            } catch (SQLException | RuntimeException e) {
                // guessing (every column) would change the events' keys: stop and start again instead
                throw new CatalogLookupException("could not read the primary key of relation "
                        + Integer.toUnsignedString(relationId) + ": " + e.getMessage(), e);
            }
        };
    }
}
