package dev.tidings.value;

import dev.tidings.testing.TestPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Tag("postgres")
class PgTypeRegistryTest {
    private final int major = TestPostgres.majorVersion();
    private ToJsonbOracle db;
    private final AtomicInteger connectionsTaken = new AtomicInteger();
    private PgTypeRegistry registry;

    @BeforeAll
    void schema() throws Exception {
        db = new ToJsonbOracle();
        db.execute(
                "CREATE SCHEMA app",
                "CREATE TYPE app.mood AS ENUM ('sad', 'happy')",
                "CREATE DOMAIN posint AS int4 CHECK (VALUE > 0)",
                "CREATE TYPE pair AS (x int4, gone text, label text)",
                "ALTER TYPE pair DROP ATTRIBUTE gone",
                "CREATE TYPE floatrange AS RANGE (subtype = float8)");
        registry = new PgTypeRegistry(() -> {
            connectionsTaken.incrementAndGet();
            try {
                return DriverManager.getConnection(db.url);
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @AfterAll
    void close() throws Exception {
        db.close();
    }

    private int oid(String type) throws SQLException {
        try (Statement s = db.connection.createStatement();
             ResultSet r = s.executeQuery("SELECT '" + type + "'::regtype::oid")) {
            r.next();
            return (int) r.getLong(1);
        }
    }

    /**
     * The table was generated on PostgreSQL 16. An older server lacks the newer types (it cannot
     * send them) and had "char" and pg_node_tree in category S before 15; every type it has must
     * otherwise agree.
     */
    @Test
    void the_built_in_table_matches_the_servers_pg_type_row_for_row() throws Exception {
        List<PgType> builtins = BuiltinTypes.all();
        assertThat(builtins).hasSizeGreaterThan(150);
        List<String> absent = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(db.url)) {
            for (PgType builtin : builtins) {
                try {
                    PgType actual = PgTypeRegistry.load(c, builtin.oid()).type();
                    if (major < 15 && builtin.category() == 'Z' && actual.category() == 'S') {
                        // 15 moved "char" and pg_node_tree from category S to Z
                        actual = new PgType(actual.oid(), actual.schema(), actual.name(), actual.kind(), 'Z',
                                actual.elementOid(), actual.delimiter(), actual.fields());
                    }
                    assertThat(actual).as(builtin.name()).isEqualTo(builtin);
                } catch (UnknownTypeException e) {
                    absent.add(builtin.name());
                }
            }
        }
        if (major >= 16) {
            assertThat(absent).isEmpty();
        } else {
            assertThat(absent).as("built-in types this older server lacks").allSatisfy(name ->
                    assertThat(name).matches("_?(.*multirange|jsonpath|xid8|pg_snapshot|pg_brin_.*|regcollation|"
                            + "pg_mcv_list|gtsvector|anycompatible.*|table_am_handler|pg_ddl_command|int2vector|"
                            + "txid_snapshot|xid|pg_node_tree|pg_ndistinct|pg_dependencies|unknown)"));
        }
    }

    @Test
    void every_non_composite_pg_catalog_type_of_the_server_is_built_in() throws Exception {
        List<String> missing = new ArrayList<>();
        try (Statement s = db.connection.createStatement(); ResultSet r = s.executeQuery(
                "SELECT t.oid, t.typname FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'"
                        + " WHERE t.typnamespace = 'pg_catalog'::regnamespace AND t.typtype <> 'c'"
                        + " AND coalesce(e.typtype, '') <> 'c'")) {
            while (r.next()) {
                int oid = (int) r.getLong(1);
                if (BuiltinTypes.lookup(oid) == null) {
                    missing.add(r.getString(2));
                    assertThat(registry.type(oid).name()).as("resolved from pg_type").isEqualTo(r.getString(2));
                }
            }
        }
        if (major < 13) { // types removed in 12 (abstime, reltime, tinterval, smgr) and 13 (opaque): looked up in pg_type
            assertThat(missing).isSubsetOf("smgr", "abstime", "reltime", "tinterval", "_abstime", "_reltime",
                    "_tinterval", "opaque");
        } else {
            assertThat(missing).isEmpty();
        }
    }

    @Test
    void built_in_types_need_no_database() throws Exception {
        PgTypeRegistry offline = new PgTypeRegistry(() -> {
            throw new IllegalStateException("no database here");
        });
        assertThat(offline.type(23)).isEqualTo(new PgType(23, "pg_catalog", "int4", PgType.Kind.BASE, 'N', 0, ',', List.of()));
        assertThat(offline.type(1007).kind()).isEqualTo(PgType.Kind.ARRAY);
        assertThat(offline.type(1007).elementOid()).isEqualTo(23);
        assertThat(offline.type(3904).elementOid()).isEqualTo(23);
        assertThat(offline.type(4451).elementOid()).isEqualTo(3904);
        assertThat(offline.type(1020).delimiter()).isEqualTo(';');
        assertThat(new JsonValueConverter(offline).toJson(1007, "{{1,2},{3,NULL}}")).isEqualTo("[[1,2],[3,null]]");
    }

    @Test
    void user_types_are_resolved_from_the_catalog_and_cached() throws Exception {
        int mood = oid("app.mood");
        int posint = oid("posint");
        int pair = oid("pair");
        int floatrange = oid("floatrange");
        int floatmultirange = major >= 14 ? oid("floatmultirange") : 0;
        int moodArray = oid("app.mood[]");

        int before = connectionsTaken.get();
        PgType moodType = registry.type(mood);
        assertThat(moodType.kind()).isEqualTo(PgType.Kind.ENUM);
        assertThat(moodType.displayName()).isEqualTo("app.mood");
        assertThat(moodType.category()).isEqualTo('E');
        assertThat(registry.type(posint)).extracting(PgType::kind, PgType::elementOid).containsExactly(PgType.Kind.DOMAIN, 23);
        PgType pairType = registry.type(pair);
        assertThat(pairType.kind()).isEqualTo(PgType.Kind.COMPOSITE);
        assertThat(pairType.fields()).containsExactly(new PgType.Field("x", 23), new PgType.Field("label", 25));
        assertThat(registry.type(floatrange)).extracting(PgType::kind, PgType::elementOid).containsExactly(PgType.Kind.RANGE, 701);
        if (major >= 14) {
            assertThat(registry.type(floatmultirange)).extracting(PgType::kind, PgType::elementOid)
                    .containsExactly(PgType.Kind.MULTIRANGE, floatrange);
        }
        assertThat(registry.type(moodArray)).extracting(PgType::kind, PgType::elementOid).containsExactly(PgType.Kind.ARRAY, mood);
        int lookups = connectionsTaken.get() - before;
        int userTypes = major >= 14 ? 6 : 5;
        assertThat(lookups).isEqualTo(userTypes);

        registry.type(mood);
        registry.type(pair);
        assertThat(connectionsTaken.get() - before).as("cached").isEqualTo(userTypes);
    }

    @Test
    void an_oid_the_database_does_not_know_is_an_unknown_type_with_a_clear_message() {
        assertThatThrownBy(() -> registry.type(999_999)).isInstanceOf(UnknownTypeException.class)
                .hasMessageContaining("999999").hasMessageContaining("not in pg_type");
    }

    @Test
    void a_failing_connection_is_a_failed_lookup_with_the_cause_not_an_unknown_type() {
        PgTypeRegistry broken = new PgTypeRegistry("jdbc:postgresql://localhost:1/none", new java.util.Properties());
        assertThatThrownBy(() -> broken.type(99_999)).isInstanceOf(CatalogLookupException.class)
                .hasMessageContaining("99999").hasMessageContaining("could not");
    }

    @Test
    void invalidating_a_composite_lets_the_converter_see_its_new_attributes() throws Exception {
        db.execute("CREATE TYPE growing AS (a int)");
        int growing = oid("growing");
        JsonValueConverter converter = new JsonValueConverter(registry);
        assertThat(converter.toJson(growing, "(1)")).isEqualTo("{\"a\":1}");
        db.execute("ALTER TYPE growing ADD ATTRIBUTE b text");
        registry.invalidate(growing);
        assertThat(registry.type(growing).fields()).hasSize(2);
        assertThat(converter.toJson(growing, "(1,x)")).isEqualTo("{\"a\":1,\"b\":\"x\"}");
    }
}
