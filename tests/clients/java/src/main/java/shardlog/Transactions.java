package shardlog;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client's transactions against a broker, for tests/it/transactions.rs. stdout carries one
 * line per fact, flushed at once; client logs go to stderr. Exit 0 when the mode's work is done.
 *
 * Usage: Transactions MODE --bootstrap HOST:PORT [options]
 *   produce --id TXN_ID --topics A,B,C --transactions N --records R
 *       N transactions of R records each, spread over every partition of every topic (values
 *       "txn-I-J"); transaction I is aborted when I % 3 == 2, else committed.
 *       Prints "committed I" / "aborted I".
 *   copy --id TXN_ID --group G --input T --output U --expect N
 *       consume-transform-produce: read_committed consumer in group G on T; each poll's records are
 *       sent upper-cased to U, with the consumer's offsets, in one committed transaction, until N
 *       records were copied. Prints "copied N".
 *   read --topics A,B --isolation read_committed|read_uncommitted
 *       Every record of every partition from the beginning to the end the isolation level sees.
 *       Prints "record TOPIC PARTITION OFFSET KEY VALUE" (a null key as "null") then "end".
 *   fence --id TXN_ID --topic T
 *       Producer 1 begins a transaction and sends; producer 2 with the same id initTransactions() and
 *       commits its own; producer 1's commit must then fail. Prints "fenced" or "not-fenced".
 */
public final class Transactions {
    static String arg(String[] args, String name, String fallback) {
        for (int i = 1; i + 1 < args.length; i++) {
            if (args[i].equals("--" + name)) {
                return args[i + 1];
            }
        }
        if (fallback == null) {
            throw new IllegalArgumentException("missing --" + name);
        }
        return fallback;
    }

    static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static KafkaProducer<String, String> producer(String bootstrap, String id) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id);
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 30000);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        KafkaProducer<String, String> producer = new KafkaProducer<>(p);
        producer.initTransactions();
        return producer;
    }

    static KafkaConsumer<String, String> consumer(String bootstrap, String group, String isolation) {
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        if (group != null) {
            c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        }
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return new KafkaConsumer<>(c);
    }

    static List<TopicPartition> partitionsOf(KafkaConsumer<?, ?> consumer, String[] topics) {
        List<TopicPartition> all = new ArrayList<>();
        for (String t : topics) {
            for (PartitionInfo p : consumer.partitionsFor(t, Duration.ofSeconds(30))) {
                all.add(new TopicPartition(t, p.partition()));
            }
        }
        return all;
    }

    static void produce(String bootstrap, String[] args) {
        String[] topics = arg(args, "topics", null).split(",");
        int transactions = Integer.parseInt(arg(args, "transactions", null));
        int records = Integer.parseInt(arg(args, "records", null));
        List<TopicPartition> targets;
        try (KafkaConsumer<String, String> meta = consumer(bootstrap, null, "read_uncommitted")) {
            targets = partitionsOf(meta, topics);
        }
        try (KafkaProducer<String, String> producer = producer(bootstrap, arg(args, "id", null))) {
            int next = 0;
            for (int i = 0; i < transactions; i++) {
                producer.beginTransaction();
                for (int j = 0; j < records; j++) {
                    TopicPartition tp = targets.get(next++ % targets.size());
                    producer.send(new ProducerRecord<>(tp.topic(), tp.partition(), null, "txn-" + i + "-" + j));
                }
                if (i % 3 == 2) {
                    // Written first, so the abort has data to undo (unsent batches are just dropped).
                    producer.flush();
                    producer.abortTransaction();
                    say("aborted " + i);
                } else {
                    producer.commitTransaction();
                    say("committed " + i);
                }
            }
        }
    }

    static void copy(String bootstrap, String[] args) {
        String output = arg(args, "output", null);
        int expect = Integer.parseInt(arg(args, "expect", null));
        int copied = 0;
        try (KafkaConsumer<String, String> consumer = consumer(bootstrap, arg(args, "group", null), "read_committed");
             KafkaProducer<String, String> producer = producer(bootstrap, arg(args, "id", null))) {
            consumer.subscribe(List.of(arg(args, "input", null)));
            long idleSince = System.currentTimeMillis();
            while (copied < expect) {
                ConsumerRecords<String, String> polled = consumer.poll(Duration.ofMillis(500));
                if (polled.isEmpty()) {
                    if (System.currentTimeMillis() - idleSince > 60_000) {
                        throw new IllegalStateException("nothing to copy for 60 s after " + copied);
                    }
                    continue;
                }
                idleSince = System.currentTimeMillis();
                producer.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (ConsumerRecord<String, String> r : polled) {
                    producer.send(new ProducerRecord<>(output, r.key(), r.value().toUpperCase()));
                    offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                    copied++;
                }
                producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
                producer.commitTransaction();
            }
        }
        say("copied " + copied);
    }

    static void read(String bootstrap, String[] args) {
        String[] topics = arg(args, "topics", null).split(",");
        try (KafkaConsumer<String, String> consumer = consumer(bootstrap, null, arg(args, "isolation", null))) {
            List<TopicPartition> all = partitionsOf(consumer, topics);
            consumer.assign(all);
            consumer.seekToBeginning(all);
            // Under read_committed the end offsets are the last stable offsets.
            Map<TopicPartition, Long> end = consumer.endOffsets(all);
            long deadline = System.currentTimeMillis() + 60_000;
            while (all.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("did not reach the end offsets " + end);
                }
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    say("record " + r.topic() + " " + r.partition() + " " + r.offset() + " " + r.key() + " " + r.value());
                }
            }
        }
        say("end");
    }

    static void fence(String bootstrap, String[] args) {
        String id = arg(args, "id", null);
        String topic = arg(args, "topic", null);
        KafkaProducer<String, String> first = producer(bootstrap, id);
        first.beginTransaction();
        first.send(new ProducerRecord<>(topic, 0, null, "zombie"));
        first.flush();
        try (KafkaProducer<String, String> second = producer(bootstrap, id)) {
            second.beginTransaction();
            second.send(new ProducerRecord<>(topic, 0, null, "successor"));
            second.commitTransaction();
        }
        try {
            first.send(new ProducerRecord<>(topic, 0, null, "zombie-again"));
            first.commitTransaction();
            say("not-fenced");
        } catch (ProducerFencedException | org.apache.kafka.common.errors.InvalidProducerEpochException e) {
            say("fenced");
        } catch (org.apache.kafka.common.KafkaException e) {
            // The fencing may surface wrapped, as the cause of the failed commit.
            say(e.getCause() instanceof ProducerFencedException ? "fenced" : "failed " + e);
        } finally {
            first.close(Duration.ZERO);
        }
    }

    public static void main(String[] args) {
        String bootstrap = arg(args, "bootstrap", null);
        switch (args[0]) {
            case "produce" -> produce(bootstrap, args);
            case "copy" -> copy(bootstrap, args);
            case "read" -> read(bootstrap, args);
            case "fence" -> fence(bootstrap, args);
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }
}
