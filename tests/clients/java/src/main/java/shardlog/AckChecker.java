package shardlog;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The no-loss checker for fault injection: an idempotent acks=all producer writes a counter per
 * partition (values 0, 1, 2, … as text) until the stop file appears, remembering the offset of
 * every acknowledged record; then a consumer reads every partition from the start and checks that
 * each acknowledged record is at its offset, that no value appears twice and that values only grow.
 * Records whose send failed may be missing, never duplicated.
 *
 * stdout carries exactly one line: "OK checker TOPIC acked=N failed=F read=R" (exit 0) or
 * "FAIL checker TOPIC: reason" (exit 1). Usage errors exit 2.
 */
public final class AckChecker {
    static final Duration CONSUME_TIMEOUT = Duration.ofSeconds(90);
    /** Records sent but not yet answered; bounds memory while a partition has no leader. */
    static final int IN_FLIGHT = 2000;

    String bootstrap;
    String topic;
    int partitions = -1;
    Path stopFile;
    int rate = 2000;
    final Properties extra = new Properties();

    /** Per partition: acknowledged value → offset. Written by the producer's I/O thread only. */
    final List<Map<Long, Long>> acked = new ArrayList<>();
    final AtomicLong failed = new AtomicLong();
    final AtomicReference<String> firstFailure = new AtomicReference<>();

    public static void main(String[] args) {
        AckChecker c = new AckChecker();
        try {
            c.parseArgs(args);
        } catch (IllegalArgumentException e) {
            System.err.println("usage: AckChecker --bootstrap HOST:PORT --topic NAME --partitions P --stop-file PATH"
                    + " [--rate RECORDS_PER_S] [--property KEY=VALUE]...");
            System.err.println("error: " + e.getMessage());
            System.exit(2);
        }
        try {
            long read = c.run();
            long ackedCount = c.acked.stream().mapToLong(Map::size).sum();
            System.out.println("OK checker " + c.topic + " acked=" + ackedCount + " failed=" + c.failed.get()
                    + " read=" + read);
            System.exit(0);
        } catch (ClientCheck.Failure e) {
            fail(c.topic, e.getMessage());
        } catch (Exception e) {
            fail(c.topic, e.toString());
        }
    }

    static void fail(String topic, String reason) {
        System.out.println("FAIL checker " + topic + ": " + reason.replace('\n', ' '));
        System.exit(1);
    }

    void parseArgs(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) throw new IllegalArgumentException("missing value for " + a);
            String v = args[++i];
            switch (a) {
                case "--bootstrap" -> bootstrap = v;
                case "--topic" -> topic = v;
                case "--partitions" -> partitions = Integer.parseInt(v);
                case "--stop-file" -> stopFile = Path.of(v);
                case "--rate" -> rate = Integer.parseInt(v);
                case "--property" -> {
                    int eq = v.indexOf('=');
                    if (eq <= 0) throw new IllegalArgumentException("--property wants KEY=VALUE, got " + v);
                    extra.put(v.substring(0, eq), v.substring(eq + 1));
                }
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        if (bootstrap == null || topic == null || stopFile == null || partitions < 1 || rate < 1)
            throw new IllegalArgumentException("--bootstrap, --topic, --stop-file and --partitions >= 1 are required");
    }

    long run() throws Exception {
        for (int p = 0; p < partitions; p++) acked.add(new HashMap<>());
        produceUntilStopped();
        return consumeAndVerify();
    }

    void produceUntilStopped() throws Exception {
        Properties p = new Properties();
        p.putAll(extra);
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "shardlog-ack-checker");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        // Short request timeouts retry sooner after a paused or cut-off broker; the delivery timeout
        // outlasts any single fault, so a record fails only if the cluster never takes it.
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000");
        p.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "100");
        Semaphore inFlight = new Semaphore(IN_FLIGHT);
        long[] next = new long[partitions];
        long started = System.nanoTime();
        long sent = 0;
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            while (!Files.exists(stopFile)) {
                int partition = (int) (sent % partitions);
                long value = next[partition]++;
                inFlight.acquire();
                producer.send(new ProducerRecord<>(topic, partition, null, Long.toString(value)), (md, e) -> {
                    inFlight.release();
                    if (e == null) {
                        acked.get(partition).put(value, md.offset());
                    } else {
                        failed.incrementAndGet();
                        firstFailure.compareAndSet(null, partition + ":" + value + " " + e);
                    }
                });
                sent++;
                long due = started + sent * 1_000_000_000L / rate;
                long wait = due - System.nanoTime();
                if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
            producer.flush();
        }
        if (firstFailure.get() != null) System.err.println("checker: first failed send: " + firstFailure.get());
    }

    long consumeAndVerify() throws Exception {
        Properties p = new Properties();
        p.putAll(extra);
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "shardlog-ack-checker-reader");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<TopicPartition> tps = new ArrayList<>();
        for (int i = 0; i < partitions; i++) tps.add(new TopicPartition(topic, i));
        long read = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, CONSUME_TIMEOUT);
            List<Map<Long, Long>> seen = new ArrayList<>();
            long[] last = new long[partitions];
            for (int i = 0; i < partitions; i++) {
                seen.add(new HashMap<>());
                last[i] = -1;
            }
            long deadline = System.nanoTime() + CONSUME_TIMEOUT.toNanos();
            while (tps.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline)
                    throw new ClientCheck.Failure("could not read up to " + end + " within " + CONSUME_TIMEOUT);
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    int part = r.partition();
                    long value = Long.parseLong(r.value());
                    Long before = seen.get(part).put(value, r.offset());
                    if (before != null)
                        throw new ClientCheck.Failure("duplicate " + part + ":" + value + " at offsets " + before + " and " + r.offset());
                    if (value <= last[part])
                        throw new ClientCheck.Failure("out of order in partition " + part + ": " + value + " after " + last[part]);
                    last[part] = value;
                    read++;
                }
            }
            for (int i = 0; i < partitions; i++) {
                for (Map.Entry<Long, Long> a : acked.get(i).entrySet()) {
                    Long at = seen.get(i).get(a.getKey());
                    if (at == null)
                        throw new ClientCheck.Failure("acknowledged " + i + ":" + a.getKey() + " (offset " + a.getValue() + ") is lost");
                    if (!at.equals(a.getValue()))
                        throw new ClientCheck.Failure("acknowledged " + i + ":" + a.getKey() + " at offset " + a.getValue() + " was read at " + at);
                }
            }
        }
        return read;
    }
}
