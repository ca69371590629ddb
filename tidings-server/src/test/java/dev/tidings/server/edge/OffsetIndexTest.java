package dev.tidings.server.edge;

import dev.tidings.server.log.EventId;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class OffsetIndexTest {
    @Test
    void an_id_among_the_indexed_finds_the_offset_of_the_next_event_and_an_older_one_asks_for_a_search() {
        OffsetIndex index = new OffsetIndex(4);
        assertThat(index.positionAfter(new EventId(1, 0))).as("nothing indexed").isEqualTo(-1);
        index.add(new EventId(100, 0), 10);
        index.add(new EventId(100, 1), 11);
        index.add(new EventId(200, 0), 15); // a hole: transaction markers, a copy skipped
        assertThat(index.positionAfter(new EventId(100, 0))).isEqualTo(11);
        assertThat(index.positionAfter(new EventId(100, 1))).isEqualTo(15);
        assertThat(index.positionAfter(new EventId(150, 3))).as("an id between two").isEqualTo(15);
        assertThat(index.positionAfter(new EventId(200, 0))).as("the newest: read from after it").isEqualTo(16);
        assertThat(index.positionAfter(new EventId(99, 5))).as("older than the oldest held").isEqualTo(-1);
        index.add(new EventId(300, 0), 16);
        index.add(new EventId(400, 0), 17); // the ring is full: (100, 0) goes
        assertThat(index.positionAfter(new EventId(100, 0))).as("no longer held").isEqualTo(-1);
        assertThat(index.positionAfter(new EventId(100, 1))).isEqualTo(15);
        assertThat(index.positionAfter(new EventId(350, 0))).isEqualTo(17);
    }

    @Test
    void the_index_agrees_with_a_scan_over_random_ids_and_positions_as_the_ring_wraps() {
        Random random = new Random(7);
        for (int round = 0; round < 200; round++) {
            int capacity = 1 + random.nextInt(20);
            OffsetIndex index = new OffsetIndex(capacity);
            List<EventId> ids = new ArrayList<>();
            List<Long> positions = new ArrayList<>();
            long lsn = 1;
            long position = 0;
            int count = random.nextInt(60);
            for (int i = 0; i < count; i++) {
                lsn += random.nextInt(3);
                int idx = ids.isEmpty() || ids.get(ids.size() - 1).lsn() != lsn ? 0 : ids.get(ids.size() - 1).index() + 1;
                position += 1 + random.nextInt(3);
                ids.add(new EventId(lsn, idx));
                positions.add(position);
                index.add(ids.get(ids.size() - 1), position);
            }
            int from = Math.max(0, ids.size() - capacity); // what the ring still holds
            for (int probe = 0; probe < 30; probe++) {
                EventId after = new EventId(random.nextLong(lsn + 3), random.nextInt(3));
                long expected;
                if (from >= ids.size() || ids.get(from).isAfter(after)) {
                    expected = -1;
                } else {
                    expected = positions.get(positions.size() - 1) + 1;
                    for (int i = from; i < ids.size(); i++) {
                        if (ids.get(i).isAfter(after)) {
                            expected = positions.get(i);
                            break;
                        }
                    }
                }
                assertThat(index.positionAfter(after)).as("after %s in %s", after, ids).isEqualTo(expected);
            }
        }
    }
}
