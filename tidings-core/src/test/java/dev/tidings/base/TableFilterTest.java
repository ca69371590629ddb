package dev.tidings.base;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

@Tag("unit")
class TableFilterTest {
    private static final TableName TODOS = new TableName("public", "todos");
    private static final TableName ORDERS = new TableName("shop", "orders");

    @Test
    void an_empty_table_list_in_a_configuration_means_every_table() {
        assertThat(TableFilter.of(List.of())).isEqualTo(TableFilter.ALL);
        assertThat(TableFilter.of(List.of()).matches(ORDERS)).isTrue();
    }

    @Test
    void listed_tables_match_only_themselves() {
        TableFilter f = TableFilter.of(List.of(TODOS));
        assertThat(f.matches(TODOS)).isTrue();
        assertThat(f.matches("public", "other")).isFalse();
        assertThat(f.matches(ORDERS)).isFalse();
    }

    @Test
    void a_schema_covers_its_tables_so_they_are_not_listed_twice() {
        TableFilter f = TableFilter.anyOf(List.of(TableFilter.table(ORDERS), TableFilter.schema("shop"),
                TableFilter.table(TODOS)));
        assertThat(f.schemas()).containsExactly("shop");
        assertThat(f.tables()).containsExactly(TODOS);
        assertThat(f.matches(new TableName("shop", "anything"))).isTrue();
        assertThat(f.matches(new TableName("public", "anything"))).isFalse();
    }

    @Test
    void all_absorbs_everything_else_and_no_filters_mean_nothing() {
        assertThat(TableFilter.anyOf(List.of(TableFilter.schema("shop"), TableFilter.ALL))).isEqualTo(TableFilter.ALL);
        assertThat(new TableFilter(true, Set.of("shop"), Set.of(TODOS))).isEqualTo(TableFilter.ALL);
        TableFilter none = TableFilter.anyOf(List.of());
        assertThat(none.isEmpty()).isTrue();
        assertThat(none.matches(TODOS)).isFalse();
    }
}
