package dev.tidings.server.sinks;

import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/** The in-process Kafka of the tests: a one-node KRaft cluster built from the Kafka artifacts. */
public final class KafkaTestBroker {
    private KafkaTestBroker() {}

    /** A broker and controller in one, in this JVM, started and ready; the caller closes it. */
    public static KafkaClusterTestKit start() throws Exception {
        return start(new KafkaClusterTestKit.Builder(new TestKitNodes.Builder().setCombined(true)
                .setNumBrokerNodes(1).setNumControllerNodes(1).build()).build());
    }

    /**
     * The same, ready for share groups: the internal topics of the group and share coordinators
     * with one replica (their defaults want three brokers), and record locks allowed from 1 s (the
     * tests' visibility timeouts).
     */
    public static KafkaClusterTestKit startWithShareGroups() throws Exception {
        return start(new KafkaClusterTestKit.Builder(new TestKitNodes.Builder().setCombined(true)
                .setNumBrokerNodes(1).setNumControllerNodes(1).build())
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("share.coordinator.state.topic.replication.factor", "1")
                .setConfigProp("share.coordinator.state.topic.min.isr", "1")
                .setConfigProp("group.share.min.record.lock.duration.ms", "1000").build());
    }

    private static KafkaClusterTestKit start(KafkaClusterTestKit broker) throws Exception {
        try {
            broker.format();
            broker.startup();
            broker.waitForReadyBrokers();
            return broker;
        } catch (Exception e) {
            broker.close();
            throw e;
        }
    }
}
