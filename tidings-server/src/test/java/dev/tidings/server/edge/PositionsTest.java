package dev.tidings.server.edge;

import dev.tidings.event.ChangeEvent;
import dev.tidings.server.log.EventId;
import dev.tidings.server.log.LogReader;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Reading a broker by position: the binary search and the page behind it, over a list of ids. */
@Tag("unit")
class PositionsTest {

    /** Messages at positions 0..n-1, one transaction per message; the event itself is not needed here. */
    private record Ids(List<EventId> ids) implements Positions.Messages<Integer> {
        @Override
        public Integer next(long position) {
            return position < ids.size() ? (int) position : null;
        }

        @Override
        public long position(Integer message) {
            return message;
        }

        @Override
        public EventId id(Integer message) {
            return ids.get(message);
        }

        @Override
        public ChangeEvent event(Integer message) {
            return null;
        }
    }

    private static Ids ids(int n) {
        List<EventId> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(new EventId(1_000 + 10L * i, 0));
        }
        return new Ids(ids);
    }

    @Test
    void a_read_returns_every_event_up_to_its_max_even_beyond_one_broker_fetch() throws Exception {
        Ids messages = ids(3 * Positions.PAGE);
        EventId after = messages.ids().get(99);
        LogReader.Read read = Positions.readAfter(0, messages.ids().size(), after, Integer.MAX_VALUE, messages);
        // a replay's last read asks for everything: a shorter answer would be a gap before live delivery
        assertThat(((LogReader.Read.Events) read).events()).hasSize(3 * Positions.PAGE - 100);
    }

    @Test
    void a_read_stops_at_its_max_and_starts_right_after_the_id() throws Exception {
        Ids messages = ids(1_000);
        LogReader.Read read = Positions.readAfter(0, 1_000, messages.ids().get(499), 10, messages);
        assertThat(((LogReader.Read.Events) read).events()).hasSize(10);
        LogReader.Read none = Positions.readAfter(0, 1_000, messages.ids().get(999), 10, messages);
        assertThat(((LogReader.Read.Events) none).events()).isEmpty();
    }
}
