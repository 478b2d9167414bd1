package shardlog;

import java.util.Properties;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Produces one record per given key with the Java client's default partitioner and prints, per key,
 * the partition its ack names: "KEY PARTITION" lines on stdout (tests/it/cli.rs compares them with where
 * `shardlog produce --parse-key` puts the same keys).
 *
 * Usage: KeyPartitions BOOTSTRAP TOPIC KEY...
 */
public final class KeyPartitions {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) throw new IllegalArgumentException("usage: KeyPartitions BOOTSTRAP TOPIC KEY...");
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "shardlog-key-partitions-java");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            for (int i = 2; i < args.length; i++) {
                RecordMetadata m = producer.send(new ProducerRecord<>(args[1], args[i], "java")).get();
                System.out.println(args[i] + " " + m.partition());
            }
        }
    }
}
