package dev.tidings.event;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;

/** The default event JSON of ARCHITECTURE.md. Placeholder; the implementation follows. */
public final class TidingsFormat implements EventFormat {
    @Override
    public String name() {
        return "tidings";
    }

    @Override
    public void write(ChangeEvent event, JsonGenerator out) throws IOException {
        throw new UnsupportedOperationException("not implemented");
    }
}
