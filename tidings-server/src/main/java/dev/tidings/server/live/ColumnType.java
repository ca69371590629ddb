package dev.tidings.server.live;

import java.util.List;

/**
 * What a filter must know about a column to compare as PostgreSQL does, read from the catalog
 * when a channel joins.
 *
 * @param name       the type as {@code Column.type()} shows it ({@code int8}, {@code mood}, {@code app.mood})
 * @param sqlName    the type as SQL casts it, without modifier ({@code bigint}, {@code bpchar}, {@code public.mood})
 * @param collation  the column's collation as SQL names it ({@code "de-x-icu"}), or null for the
 *                   database default; only meaningful for collatable types
 * @param codePoint  true when text of this column sorts by code point (collation {@code C},
 *                   {@code POSIX}, {@code ucs_basic}, a builtin provider, or a database default that is one of these)
 * @param deterministic false for nondeterministic ICU collations, whose equality is not byte equality
 * @param enumLabels the labels in declaration order for an enum, else null
 * @param array      true for array types
 */
public record ColumnType(String name, String sqlName, String collation, boolean codePoint, boolean deterministic,
                         List<String> enumLabels, boolean array) {
    public ColumnType {
        enumLabels = enumLabels == null ? null : List.copyOf(enumLabels);
    }
}
