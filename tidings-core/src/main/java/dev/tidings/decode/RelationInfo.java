package dev.tidings.decode;

import dev.tidings.event.Column;

import java.util.List;

/** A table as the last Relation message described it, with each column's type resolved. */
record RelationInfo(int relationId, String schema, String table, List<Column> columns, int[] typeOids) {}
