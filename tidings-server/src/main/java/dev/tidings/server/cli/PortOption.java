package dev.tidings.server.cli;

import picocli.CommandLine.Option;

/** {@code --port}, shared by the commands that serve HTTP (a picocli mixin). */
final class PortOption {
    @Option(names = "--port", paramLabel = "N", description = "HTTP port (default 4000; 0: any free port)")
    Integer port;

    int orDefault() {
        return port != null ? port : 4000;
    }
}
