package dev.tidings.server.sinks;

import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/** The in-process Kafka of the tests: a one-node KRaft cluster built from the Kafka artifacts. */
public final class KafkaTestBroker {
    private KafkaTestBroker() {}

    /** A broker and controller in one, in this JVM, started and ready; the caller closes it. */
    public static KafkaClusterTestKit start() throws Exception {
        KafkaClusterTestKit broker = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder().setCombined(true)
                .setNumBrokerNodes(1).setNumControllerNodes(1).build()).build();
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
