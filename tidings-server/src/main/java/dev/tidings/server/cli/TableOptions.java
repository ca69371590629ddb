package dev.tidings.server.cli;

import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/** {@code --tables} and {@code --temporary}, shared by the streaming commands (a picocli mixin). */
final class TableOptions {
    @Option(names = "--tables", split = ",", paramLabel = "SCHEMA.TABLE",
            description = "Only these tables (comma-separated; quote names with capitals: '\"My Table\"'). Default: all")
    List<String> tables = new ArrayList<>();

    @Option(names = "--temporary", arity = "0..1", fallbackValue = "true", paramLabel = "true|false",
            description = "Use a temporary slot: nothing is kept when Tidings stops (alone: true)")
    Boolean temporary;
}
