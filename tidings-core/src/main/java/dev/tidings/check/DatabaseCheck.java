package dev.tidings.check;

import dev.tidings.base.Identifiers;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Diagnoses a database for change data capture and says, for each problem, the SQL that fixes it.
 * {@code tidings check} prints the result. The streaming source does not run it: it checks what it
 * needs itself (wal_level, slot, publication, privileges) as it sets up, and fails with the same fixes.
 *
 * <p>Only catalog reads: the check changes nothing, needs no privilege beyond logging in, and
 * works on PostgreSQL 10 (the first with logical replication and pgoutput) through 18. Columns
 * that later versions added ({@code pubtruncate} 11, {@code wal_status} 13, {@code conflicting}
 * 16, {@code invalidation_reason} 17) are read only where they exist.
 *
 * <p>What is checked, in the order a fix has to happen: the server (version, standby), the
 * settings that need a restart ({@code wal_level}, slot and sender capacity), the role, the
 * publication and each table it publishes (replica identity, SELECT), and finally every
 * replication slot, because an abandoned slot anywhere in the cluster holds WAL for all of it.
 *
 * <p>A table without a usable replica identity is a warning, not an error: streaming works, but
 * PostgreSQL refuses UPDATE and DELETE on that table while it sits in a publication that
 * publishes them ("cannot update table … because it does not have a replica identity and
 * publishes updates"), which breaks the application writing to it, not Tidings.
 *
 * <p>Every identifier in generated SQL goes through {@link Identifiers#quote} and every name passed
 * as a string through {@link Identifiers#literal}, so the printed fixes can be pasted as they are.
 */
public final class DatabaseCheck {

    /** Tidings' own inactive slot is expected while Tidings is stopped; past this much retained WAL it is a warning. */
    static final long OWN_SLOT_RETAINED_WARN_BYTES = 1L << 30;

    private enum Platform { SELF_MANAGED, RDS, CLOUD_SQL, AZURE }

    private final Connection c;
    private final String publication;
    private final String slot;
    private final List<Finding> findings = new ArrayList<>();
    private int version;
    private Platform platform;
    private boolean superuser;
    private boolean inRecovery;
    private String user;
    private String database;

    private DatabaseCheck(Connection c, String publication, String slot) {
        this.c = c;
        this.publication = publication;
        this.slot = slot;
    }

    /**
     * Runs every check on {@code c} (an ordinary, not a replication, connection) as its user.
     *
     * @param publication the publication Tidings reads, or null to skip the publication and table checks
     * @param slot        the slot Tidings streams from, or null to check only the other slots
     * @throws SQLException when a catalog query fails, e.g. the connection broke
     */
    public static List<Finding> run(Connection c, String publication, String slot) throws SQLException {
        DatabaseCheck check = new DatabaseCheck(c, publication, slot);
        check.runAll();
        return List.copyOf(check.findings);
    }

    private void runAll() throws SQLException {
        version = Integer.parseInt(single("SELECT current_setting('server_version_num')"));
        if (!checkServer()) {
            return;
        }
        platform = detectPlatform();
        superuser = "on".equals(single("SELECT current_setting('is_superuser')"));
        user = single("SELECT current_user");
        database = single("SELECT current_database()");
        checkWalLevel();
        checkCapacity();
        checkRole();
        if (publication != null) {
            checkPublication();
        }
        checkSlots();
        checkSlotWalKeepSize();
        if (slot != null) {
            checkFailover();
        }
    }

    // ---- server ----------------------------------------------------------------------------

    private boolean checkServer() throws SQLException {
        String shown = single("SELECT current_setting('server_version')");
        if (version < 100000) {
            findings.add(Finding.error("server version",
                    "PostgreSQL " + shown + " has no logical replication with pgoutput; it needs PostgreSQL 10 or newer",
                    "Upgrade PostgreSQL to a supported version (13 or newer recommended)."));
            return false;
        }
        findings.add(Finding.ok("server version", "PostgreSQL " + shown));
        inRecovery = "t".equals(single("SELECT pg_is_in_recovery()"));
        if (inRecovery && version < 160000) {
            findings.add(Finding.error("standby",
                    "this server is a standby; PostgreSQL " + shown + " decodes logically only on the primary",
                    "Connect Tidings to the primary server."));
        } else if (inRecovery) {
            findings.add(Finding.warn("standby",
                    "this server is a standby; logical decoding works here (16+), but the publication must be"
                            + " created on the primary, and the slot is lost when this standby is promoted or rebuilt",
                    "Prefer the primary. On this standby set hot_standby_feedback = on and replicate through a"
                            + " physical slot (primary_slot_name), or decoding fails when the primary vacuums catalog rows."));
        }
        return true;
    }

    private Platform detectPlatform() throws SQLException {
        String role = single("SELECT rolname FROM pg_roles WHERE rolname IN"
                + " ('rds_superuser', 'cloudsqlsuperuser', 'azure_pg_admin') ORDER BY rolname LIMIT 1");
        if (role == null) {
            return Platform.SELF_MANAGED;
        }
        return switch (role) {
            case "rds_superuser" -> Platform.RDS;
            case "cloudsqlsuperuser" -> Platform.CLOUD_SQL;
            default -> Platform.AZURE;
        };
    }

    // ---- settings that need a restart --------------------------------------------------------

    private void checkWalLevel() throws SQLException {
        String walLevel = single("SELECT current_setting('wal_level')");
        if ("logical".equals(walLevel)) {
            findings.add(Finding.ok("wal_level", "logical"));
            return;
        }
        String fix = switch (platform) {
            case RDS -> "Set rds.logical_replication = 1 in the DB parameter group, then reboot the instance.";
            case CLOUD_SQL -> "Set the database flag cloudsql.logical_decoding = on (the instance restarts).";
            case AZURE -> "Set the server parameter wal_level = LOGICAL, then restart the server.";
            case SELF_MANAGED -> "ALTER SYSTEM SET wal_level = logical;\n-- then restart PostgreSQL (a reload is not enough)";
        };
        findings.add(Finding.error("wal_level",
                "wal_level is '" + walLevel + "'; logical decoding needs 'logical', so no slot can be created or read", fix));
    }

    private void checkCapacity() throws SQLException {
        boolean slotExists = slot != null
                && single("SELECT 1 FROM pg_replication_slots WHERE slot_name = ?", slot) != null;

        int maxSlots = Integer.parseInt(single("SELECT current_setting('max_replication_slots')"));
        int usedSlots = Integer.parseInt(single("SELECT count(*) FROM pg_replication_slots"));
        String slotUse = usedSlots + " of " + maxSlots + " replication slots in use";
        if (!slotExists && usedSlots >= maxSlots) {
            findings.add(Finding.error("max_replication_slots",
                    slotUse + "; Tidings needs one more for its slot",
                    restartSetting("max_replication_slots", Math.max(10, usedSlots + 4))));
        } else {
            findings.add(Finding.ok("max_replication_slots", slotUse));
        }

        int maxSenders = Integer.parseInt(single("SELECT current_setting('max_wal_senders')"));
        int usedSenders = Integer.parseInt(single("SELECT count(*) FROM pg_stat_replication"));
        String senderUse = usedSenders + " of " + maxSenders + " WAL senders in use";
        if (usedSenders >= maxSenders) {
            findings.add(Finding.error("max_wal_senders",
                    senderUse + "; every replication connection, Tidings' included, takes one",
                    restartSetting("max_wal_senders", Math.max(10, usedSenders + 4))));
        } else {
            findings.add(Finding.ok("max_wal_senders", senderUse));
        }
    }

    private String restartSetting(String name, int value) {
        return switch (platform) {
            case SELF_MANAGED -> "ALTER SYSTEM SET " + name + " = " + value + ";\n-- then restart PostgreSQL";
            default -> "Raise " + name + " to " + value + " in the server's parameters, then restart it.";
        };
    }

    // ---- role ----------------------------------------------------------------------------------

    private void checkRole() throws SQLException {
        boolean replication = "t".equals(single("SELECT rolreplication FROM pg_roles WHERE rolname = current_user"));
        if (superuser || replication) {
            findings.add(Finding.ok("role " + Identifiers.quote(user), superuser ? "superuser" : "has REPLICATION"));
            return;
        }
        if (platform == Platform.RDS) {
            boolean member = "t".equals(single("SELECT pg_has_role(current_user, 'rds_replication', 'member')"));
            if (member) {
                findings.add(Finding.ok("role " + Identifiers.quote(user), "member of rds_replication"));
            } else {
                findings.add(Finding.error("role " + Identifiers.quote(user),
                        "cannot open a replication connection: on RDS it needs the rds_replication role",
                        "GRANT rds_replication TO " + Identifiers.quote(user) + ";"));
            }
            return;
        }
        findings.add(Finding.error("role " + Identifiers.quote(user),
                "has neither REPLICATION nor superuser, so it cannot open a replication connection or create a slot",
                "ALTER ROLE " + Identifiers.quote(user) + " WITH REPLICATION;"
                        + (platform == Platform.SELF_MANAGED ? ""
                        : "\n-- on a managed service, grant the provider's replication role instead")));
    }

    // ---- publication and tables -----------------------------------------------------------------

    private void checkPublication() throws SQLException {
        String subject = "publication " + Identifiers.quote(publication);
        String columns = "puballtables, pubinsert, pubupdate, pubdelete, "
                + (version >= 110000 ? "pubtruncate" : "false AS pubtruncate")
                + ", pg_get_userbyid(pubowner) AS owner";
        boolean allTables;
        boolean publishesUpdate;
        boolean publishesDelete;
        List<String> actions = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT " + columns + " FROM pg_publication WHERE pubname = ?")) {
            ps.setString(1, publication);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    reportMissingPublication(subject);
                    return;
                }
                allTables = rs.getBoolean("puballtables");
                for (String action : List.of("insert", "update", "delete", "truncate")) {
                    if (rs.getBoolean("pub" + action)) {
                        actions.add(action);
                    }
                }
                publishesUpdate = rs.getBoolean("pubupdate");
                publishesDelete = rs.getBoolean("pubdelete");
            }
        }

        List<PublishedTable> tables = publishedTables();
        if (tables.isEmpty() && !allTables) {
            findings.add(Finding.warn(subject,
                    "publishes no tables, so no change will ever reach Tidings",
                    "ALTER PUBLICATION " + Identifiers.quote(publication) + " ADD TABLE <schema>.<table>;"
                            + "\n-- or, as a superuser, publish everything:"
                            + "\nDROP PUBLICATION " + Identifiers.quote(publication) + "; CREATE PUBLICATION "
                            + Identifiers.quote(publication) + " FOR ALL TABLES;"));
        } else {
            findings.add(Finding.ok(subject, (allTables ? "all tables (" + tables.size() + " now)" : tables.size() + " table(s)")
                    + ", publishes " + String.join(", ", actions) + (allTables ? "" : ": " + summarize(tables))));
        }
        for (PublishedTable t : tables) {
            checkTable(t, publishesUpdate, publishesDelete);
        }
    }

    private void reportMissingPublication(String subject) throws SQLException {
        String create = "CREATE PUBLICATION " + Identifiers.quote(publication) + " FOR ALL TABLES;";
        if (superuser) {
            findings.add(Finding.ok(subject, "does not exist yet; Tidings will create it"));
            return;
        }
        boolean canCreate = "t".equals(single("SELECT has_database_privilege(current_database(), 'CREATE')"));
        if (canCreate) {
            findings.add(Finding.warn(subject,
                    "does not exist; this role may create publications, but only for tables it owns"
                            + " (FOR ALL TABLES needs a superuser)",
                    "-- as a superuser:\n" + create));
        } else {
            findings.add(Finding.error(subject,
                    "does not exist, and this role lacks CREATE on the database, so Tidings cannot create it",
                    "-- as a superuser:\n" + create
                            + "\n-- or let this role create it for the tables it owns:"
                            + "\nGRANT CREATE ON DATABASE " + Identifiers.quote(database) + " TO "
                            + Identifiers.quote(user) + ";"));
        }
    }

    private record PublishedTable(String schema, String name, char replicaIdentity, boolean hasPrimaryKey,
                                  boolean hasIdentityIndex, String candidateIndex, boolean canSelect) {
        String qualified() {
            return Identifiers.quote(schema) + "." + Identifiers.quote(name);
        }
    }

    private List<PublishedTable> publishedTables() throws SQLException {
        // A unique, immediate, non-partial index over NOT NULL plain columns can serve as replica identity.
        String sql = """
                SELECT n.nspname, c.relname, c.relreplident,
                       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk,
                       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident) AS has_ri_index,
                       (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                         WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate AND i.indisvalid
                           AND i.indpred IS NULL AND i.indexprs IS NULL
                           AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                                            AND a.attnum = ANY (i.indkey::int2[]) AND NOT a.attnotnull)
                         ORDER BY ic.relname LIMIT 1) AS candidate_index,
                       has_table_privilege(c.oid, 'SELECT') AS can_select
                  FROM pg_publication_tables pt
                  JOIN pg_namespace n ON n.nspname = pt.schemaname
                  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
                 WHERE pt.pubname = ?
                 ORDER BY n.nspname, c.relname
                """;
        List<PublishedTable> tables = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, publication);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    tables.add(new PublishedTable(rs.getString(1), rs.getString(2), rs.getString(3).charAt(0),
                            rs.getBoolean(4), rs.getBoolean(5), rs.getString(6), rs.getBoolean(7)));
                }
            }
        }
        return tables;
    }

    private static String summarize(List<PublishedTable> tables) {
        int shown = Math.min(tables.size(), 10);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < shown; i++) {
            sb.append(i == 0 ? "" : ", ").append(tables.get(i).qualified());
        }
        if (tables.size() > shown) {
            sb.append(", … ").append(tables.size() - shown).append(" more");
        }
        return sb.toString();
    }

    private void checkTable(PublishedTable t, boolean publishesUpdate, boolean publishesDelete) throws SQLException {
        String subject = "table " + t.qualified();
        boolean usableIdentity = switch (t.replicaIdentity) {
            case 'f' -> true;
            case 'd' -> t.hasPrimaryKey;
            case 'i' -> t.hasIdentityIndex; // the index was dropped: PostgreSQL treats it as NOTHING
            default -> false;
        };
        if (!usableIdentity && (publishesUpdate || publishesDelete)) {
            String what = switch (t.replicaIdentity) {
                case 'n' -> "has REPLICA IDENTITY NOTHING";
                case 'i' -> "has REPLICA IDENTITY USING INDEX, but that index no longer exists";
                default -> "has no primary key (REPLICA IDENTITY DEFAULT)";
            };
            String verbs = publishesUpdate && publishesDelete ? "UPDATE and DELETE" : publishesUpdate ? "UPDATE" : "DELETE";
            String full = "ALTER TABLE " + t.qualified() + " REPLICA IDENTITY FULL;";
            String fix = t.candidateIndex != null
                    ? "-- use the unique index it has as its key:\nALTER TABLE " + t.qualified()
                    + " REPLICA IDENTITY USING INDEX " + Identifiers.quote(t.candidateIndex) + ";"
                    + "\n-- or send whole old rows on update and delete:\n" + full
                    : "-- best, give it a primary key:\nALTER TABLE " + t.qualified() + " ADD PRIMARY KEY (<key columns>);"
                    + "\n-- or send whole old rows on update and delete:\n" + full;
            findings.add(Finding.warn(subject,
                    what + "; while it is in this publication PostgreSQL rejects every " + verbs
                            + " on it with \"does not have a replica identity\", and events could not say which row changed",
                    fix));
        } else if (t.replicaIdentity == 'n') {
            findings.add(Finding.warn(subject,
                    "has REPLICA IDENTITY NOTHING; the publication sends no updates or deletes now, but would carry no key if it did",
                    "ALTER TABLE " + t.qualified() + " REPLICA IDENTITY DEFAULT;  -- needs a primary key"));
        }
        if (!t.canSelect) {
            findings.add(Finding.warn(subject,
                    "this role may not SELECT from it; streaming works, but snapshots and backfills of it fail",
                    "GRANT SELECT ON " + t.qualified() + " TO " + Identifiers.quote(user) + ";"));
        }
    }

    // ---- slots ---------------------------------------------------------------------------------------

    private record Slot(String name, String plugin, String type, String database, boolean temporary, boolean active,
                        Integer activePid, Long retainedBytes, String walStatus, boolean conflicting,
                        String invalidationReason) {}

    private void checkSlots() throws SQLException {
        String currentLsn = inRecovery ? "pg_last_wal_replay_lsn()" : "pg_current_wal_lsn()";
        String sql = "SELECT slot_name, plugin, slot_type, database, temporary, active, active_pid,"
                + " pg_wal_lsn_diff(" + currentLsn + ", restart_lsn)::bigint AS retained, "
                + (version >= 130000 ? "wal_status" : "NULL AS wal_status") + ", "
                + (version >= 160000 ? "coalesce(conflicting, false) AS conflicting" : "false AS conflicting") + ", "
                + (version >= 170000 ? "invalidation_reason" : "NULL AS invalidation_reason")
                + " FROM pg_replication_slots ORDER BY slot_name";
        boolean namedFound = false;
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                int pid = rs.getInt("active_pid");
                Integer activePid = rs.wasNull() ? null : pid;
                long retained = rs.getLong("retained");
                Long retainedBytes = rs.wasNull() ? null : retained;
                Slot s = new Slot(rs.getString("slot_name"), rs.getString("plugin"), rs.getString("slot_type"),
                        rs.getString("database"), rs.getBoolean("temporary"), rs.getBoolean("active"), activePid,
                        retainedBytes, rs.getString("wal_status"), rs.getBoolean("conflicting"),
                        rs.getString("invalidation_reason"));
                if (s.name.equals(slot)) {
                    namedFound = true;
                    checkNamedSlot(s);
                } else if (!s.temporary) {
                    checkOtherSlot(s);
                }
            }
        }
        if (slot != null && !namedFound) {
            findings.add(Finding.ok("slot " + Identifiers.literal(slot), "does not exist yet; Tidings creates it (pgoutput) on first start"));
        }
    }

    private void checkNamedSlot(Slot s) {
        String subject = "slot " + Identifiers.literal(s.name);
        String drop = "SELECT pg_drop_replication_slot(" + Identifiers.literal(s.name) + ");";
        if (!"logical".equals(s.type)) {
            findings.add(Finding.error(subject, "is a " + s.type + " slot; Tidings needs a logical slot",
                    "Choose another slot name with --slot, or, if nothing uses this slot:\n" + drop));
            return;
        }
        if (!database.equals(s.database)) {
            findings.add(Finding.error(subject,
                    "belongs to database " + Identifiers.quote(s.database) + "; a logical slot decodes only its own database",
                    "Choose another slot name with --slot, or connect to database " + Identifiers.quote(s.database) + "."));
            return;
        }
        if (!"pgoutput".equals(s.plugin)) {
            findings.add(Finding.error(subject,
                    "uses the output plugin '" + s.plugin + "'; Tidings reads only pgoutput",
                    "Choose another slot name with --slot, or, if nothing else reads this slot:\n" + drop
                            + "\n-- Tidings then creates a pgoutput slot; changes made in between are not in it"));
            return;
        }
        if (isInvalidated(s)) {
            findings.add(Finding.error(subject,
                    "was invalidated" + invalidationDetail(s) + ": the WAL it needed is gone, so changes were lost."
                            + " Tidings never recreates a slot on its own, because that would skip them silently",
                    drop + "\n-- then take a fresh snapshot of the published tables before streaming again"));
            return;
        }
        if ("unreserved".equals(s.walStatus)) {
            findings.add(Finding.warn(subject,
                    "is behind by " + bytes(s.retainedBytes) + ", past max_slot_wal_keep_size; the next checkpoint"
                            + " invalidates it unless Tidings catches up first",
                    "Start Tidings now so it consumes the backlog, or raise max_slot_wal_keep_size:"
                            + "\nALTER SYSTEM SET max_slot_wal_keep_size = '<larger>'; SELECT pg_reload_conf();"));
            return;
        }
        if (s.active) {
            findings.add(Finding.ok(subject, "pgoutput, in use by process " + s.activePid
                    + ", " + bytes(s.retainedBytes) + " behind"));
        } else if (s.retainedBytes != null && s.retainedBytes >= OWN_SLOT_RETAINED_WARN_BYTES) {
            findings.add(Finding.warn(subject,
                    "pgoutput, inactive, and holding " + bytes(s.retainedBytes) + " of WAL on the server's disk"
                            + " until Tidings resumes",
                    "Start Tidings so it catches up, or, if this slot is abandoned:\n" + drop));
        } else {
            findings.add(Finding.ok(subject, "pgoutput, inactive (Tidings not running), "
                    + bytes(s.retainedBytes) + " of WAL retained"));
        }
    }

    private void checkOtherSlot(Slot s) {
        String subject = "slot " + Identifiers.literal(s.name);
        String where = "logical".equals(s.type)
                ? s.type + " (" + s.plugin + ", database " + Identifiers.quote(s.database) + ")"
                : s.type;
        String drop = "SELECT pg_drop_replication_slot(" + Identifiers.literal(s.name) + ");";
        if (isInvalidated(s)) {
            findings.add(Finding.warn(subject, where + ", invalidated" + invalidationDetail(s)
                    + "; it can never be read again and only takes up a slot", drop));
        } else if (!s.active) {
            findings.add(Finding.warn(subject, where + ", inactive, holding " + bytes(s.retainedBytes)
                    + " of WAL; the server keeps all WAL since then until the slot is read or dropped,"
                    + " which can fill its disk",
                    "-- if nothing consumes this slot any more:\n" + drop));
        } else {
            findings.add(Finding.ok(subject, where + ", active, " + bytes(s.retainedBytes) + " behind"));
        }
    }

    private static boolean isInvalidated(Slot s) {
        return "lost".equals(s.walStatus) || s.conflicting || s.invalidationReason != null;
    }

    private static String invalidationDetail(Slot s) {
        return s.invalidationReason != null ? " (" + s.invalidationReason + ")"
                : s.conflicting ? " (conflict with recovery)"
                : " (wal_status lost)";
    }

    // ---- failover ----------------------------------------------------------------------------

    /**
     * Whether the slot survives a promotion of a physical standby: PostgreSQL 17+ failover slots,
     * synchronized to standbys with {@code sync_replication_slots}; on a primary, also whether
     * {@code synchronized_standby_slots} holds logical consumers back until the standbys have the WAL.
     */
    private void checkFailover() throws SQLException {
        String subject = "failover of slot " + Identifiers.literal(slot);
        int physicalSlots = Integer.parseInt(single("SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'physical'"));
        if (version < 170000) {
            String message = "PostgreSQL " + version / 10000 + " has no failover slots: the slot lives only on this server."
                    + " A promoted physical standby has no copy of it, so Tidings, pointed at the new primary, creates a"
                    + " new slot from that moment and consumers must re-snapshot";
            String fix = "Upgrade to PostgreSQL 17 or newer and set replication.failover: true; until then plan a"
                    + " re-snapshot after a primary failover (docs/operations.md, primary failover).";
            findings.add(physicalSlots > 0 ? Finding.warn(subject, message, fix) : Finding.ok(subject, message + " (no physical"
                    + " standby slot here)"));
            return;
        }
        String failover = single("SELECT failover::text FROM pg_replication_slots WHERE slot_name = ?", slot);
        if (inRecovery) {
            checkStandbySync(subject);
            return;
        }
        if (failover == null) {
            findings.add(Finding.ok(subject, "the slot does not exist yet; with replication.failover: true Tidings creates it"
                    + " as a failover slot"));
        } else if (!"true".equals(failover)) {
            String message = "the slot is not a failover slot: a promoted physical standby will not have it";
            String fix = "psql \"dbname=" + database + " replication=database\" -c \"ALTER_REPLICATION_SLOT " + slot
                    + " (FAILOVER true)\"\n-- and set replication.failover: true for slots created later";
            findings.add(physicalSlots > 0 ? Finding.warn(subject, message, fix)
                    : Finding.ok(subject, message + " (no physical standby slot here)"));
        } else {
            String standbySlots = single("SELECT current_setting('synchronized_standby_slots', true)");
            if (standbySlots == null || standbySlots.isEmpty()) {
                findings.add(Finding.warn(subject, "failover slot, but synchronized_standby_slots is empty: Tidings may"
                                + " receive changes a standby has not received yet; if that standby is promoted, consumers"
                                + " hold changes the new primary never had",
                        "ALTER SYSTEM SET synchronized_standby_slots = '<physical slot of each standby>'; SELECT pg_reload_conf();"));
            } else {
                findings.add(Finding.ok(subject, "failover slot; logical decoding waits for the standbys of"
                        + " synchronized_standby_slots = " + standbySlots));
            }
        }
    }

    /** On a standby: is the slot being synchronized from the primary, ready to use after a promotion? */
    private void checkStandbySync(String subject) throws SQLException {
        String sync = single("SELECT current_setting('sync_replication_slots')");
        String feedback = single("SELECT current_setting('hot_standby_feedback')");
        String primarySlot = single("SELECT current_setting('primary_slot_name')");
        List<String> missing = new ArrayList<>();
        if (!"on".equals(sync)) {
            missing.add("sync_replication_slots = on");
        }
        if (!"on".equals(feedback)) {
            missing.add("hot_standby_feedback = on");
        }
        if (primarySlot == null || primarySlot.isEmpty()) {
            missing.add("primary_slot_name = '<a physical slot on the primary>'");
        }
        if (!missing.isEmpty()) {
            findings.add(Finding.warn(subject, "this standby does not synchronize failover slots: "
                            + String.join(", ", missing) + " missing, so after its promotion Tidings has no slot to resume",
                    String.join("\n", missing.stream().map(m -> "ALTER SYSTEM SET " + m + ";").toList())
                            + "\nSELECT pg_reload_conf();  -- and add dbname=… to primary_conninfo"));
            return;
        }
        String synced = single("SELECT synced::text FROM pg_replication_slots WHERE slot_name = ?", slot);
        if ("true".equals(synced)) {
            findings.add(Finding.ok(subject, "synchronized to this standby: after its promotion Tidings continues from it"));
        } else {
            findings.add(Finding.warn(subject, "this standby synchronizes slots, but has no synced copy of the slot",
                    "On the primary, make it a failover slot (replication.failover: true, or ALTER_REPLICATION_SLOT "
                            + slot + " (FAILOVER true) on a replication connection) and list this standby's physical slot"
                            + " in synchronized_standby_slots."));
        }
    }

    private void checkSlotWalKeepSize() throws SQLException {
        if (version < 130000) {
            return;
        }
        String size = single("SELECT current_setting('max_slot_wal_keep_size')");
        findings.add(Finding.ok("max_slot_wal_keep_size", "-1".equals(size)
                ? "-1: a slot may hold unlimited WAL, so an abandoned slot can fill the disk"
                : size + ": a slot further behind than this is invalidated and must be re-snapshotted"));
    }

    // ---- SQL text -----------------------------------------------------------------------------------
    /** Bytes for people: {@code 0 bytes}, {@code 512 bytes}, {@code 16 MB}, {@code 1.5 GB} (powers of 1024, as pg_size_pretty). */
    static String bytes(Long n) {
        if (n == null) {
            return "unknown amount";
        }
        if (n < 1024) {
            return n + (n == 1 ? " byte" : " bytes");
        }
        String[] units = {"kB", "MB", "GB", "TB", "PB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return (v < 10 && v != Math.floor(v) ? String.format(Locale.ROOT, "%.1f", v) : String.valueOf(Math.round(v)))
                + " " + units[u];
    }

    private String single(String sql, String... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setString(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }
}
