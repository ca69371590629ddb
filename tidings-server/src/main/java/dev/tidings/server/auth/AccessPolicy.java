package dev.tidings.server.auth;

import dev.tidings.event.ChangeEvent;
import dev.tidings.server.live.Filter;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Who may see which changes, from configuration, evaluated in process: no database query per
 * subscriber or per change.
 *
 * <ul>
 *   <li>{@code roles}: JWT {@code role} claim → table patterns it may subscribe to
 *       ({@code public.todos}, {@code public.*}, {@code *}). Without roles configured every table is
 *       open. A token without a role (or no token) is role {@code anon}.
 *   <li>{@code rows}: table → a filter template bound to the subscriber's claims, e.g.
 *       {@code user_id=eq.{sub}}: applied to every change of that table that subscriber gets.
 * </ul>
 * Immutable, thread-safe.
 */
public final class AccessPolicy {
    public static final AccessPolicy OPEN = new AccessPolicy(Map.of(), Map.of());

    private final Map<String, List<String>> roles;
    private final Map<String, String> rows;

    /**
     * @param roles role → patterns ({@code schema.table}, {@code schema.*}, {@code *})
     * @param rows  {@code schema.table} → filter template with {@code {claim}} placeholders
     */
    public AccessPolicy(Map<String, List<String>> roles, Map<String, String> rows) {
        this.roles = Map.copyOf(roles);
        this.rows = Map.copyOf(rows);
        for (var e : rows.entrySet()) {
            Filter.parse(e.getValue().replaceAll("\\{[^}]*}", "0")); // syntax check at start
        }
    }

    /** What one subscriber, identified by its claims, may see. */
    public Grant grant(Map<String, Object> claims) {
        Object r = claims.get("role");
        String role = r == null ? "anon" : r.toString();
        List<String> patterns = roles.isEmpty() ? List.of("*") : roles.getOrDefault(role, List.of());
        Map<String, Filter> rowFilters = new HashMap<>();
        Map<String, String> unbound = new HashMap<>();
        for (var e : rows.entrySet()) {
            try {
                rowFilters.put(e.getKey(), Filter.bind(e.getValue(), claims));
            } catch (IllegalArgumentException ex) {
                unbound.put(e.getKey(), ex.getMessage());
            }
        }
        return new Grant(role, patterns, rowFilters, unbound);
    }

    /** The tables and rows one subscriber may see. */
    public static final class Grant {
        private final String role;
        private final List<String> patterns;
        private final Map<String, Filter> rowFilters;
        private final Map<String, String> unbound;
        /** Every table, no row policy: the common case, decided without looking at the event. */
        private final boolean everything;

        Grant(String role, List<String> patterns, Map<String, Filter> rowFilters, Map<String, String> unbound) {
            this.role = role;
            this.patterns = patterns;
            this.rowFilters = rowFilters;
            this.unbound = unbound;
            this.everything = patterns.contains("*") && rowFilters.isEmpty() && unbound.isEmpty();
        }

        public boolean anyTable() {
            return !patterns.isEmpty();
        }

        public String role() {
            return role;
        }

        /**
         * Null when the subscriber may subscribe to {@code schema.table}, else why not; a null
         * {@code table} (a schema or everything) needs some table to be allowed.
         */
        public String refusal(String schema, String table) {
            if (table == null) {
                return anyTable() ? null : "role '" + role + "' may not subscribe to any table";
            }
            if (!allows(schema, table)) {
                return "role '" + role + "' may not subscribe to " + schema + "." + table;
            }
            return unbound.get(schema + "." + table);
        }

        public boolean allows(String schema, String table) {
            for (String p : patterns) {
                if (p.equals("*") || p.equals(schema + ".*") || p.equals(schema + "." + table)) {
                    return true;
                }
            }
            return false;
        }

        /** True when the event's table is allowed and its row passes the row policy. */
        public boolean admits(ChangeEvent event) {
            if (everything) {
                return true;
            }
            if (!allows(event.schema(), event.table())) {
                return false;
            }
            if (rowFilters.isEmpty() && unbound.isEmpty()) {
                return true;
            }
            String key = event.schema() + "." + event.table();
            if (unbound.containsKey(key)) {
                return false;
            }
            Filter f = rowFilters.get(key);
            return f == null || f.matches(event);
        }
    }
}
