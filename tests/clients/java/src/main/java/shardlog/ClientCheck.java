package shardlog;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * End-to-end check of a Kafka-compatible broker with the official Java client:
 * create a topic, produce N known records, read them back without a consumer
 * group, and verify every field and offset.
 *
 * stdout carries exactly one line: "OK java TOPIC N records" (exit 0) or
 * "FAIL java TOPIC: reason" (exit 1, first mismatch only). Usage errors exit 2.
 */
public final class ClientCheck {
    // Fixed base so timestamps are deterministic and checkable.
    static final long BASE_TS = 1_700_000_000_000L;
    static final int KEYS = 1000;
    static final int VALUE_LEN = 100;
    static final Duration CONSUME_TIMEOUT = Duration.ofSeconds(60);
    static final long ADMIN_TIMEOUT_S = 30;

    /** A check failed; its message is the one-line reason. */
    static final class Failure extends Exception {
        Failure(String msg) { super(msg); }
    }

    String bootstrap;
    String topic;
    int partitions = -1;
    int records = -1;
    String compression = "none";
    short replicationFactor = 1;
    // Produce at most this many records a second (0: unpaced), so a run can span broker faults.
    int recordsPerSecond = 0;
    // --topic-config KEY=VALUE: configs of the created topic (min.insync.replicas, ...).
    final Map<String, String> topicConfigs = new HashMap<>();

    // --property KEY=VALUE: client configs added to the admin client, producer and consumer alike
    // (security.protocol, sasl.mechanism, sasl.jaas.config, ...).
    final Properties extra = new Properties();

    // What the producer callbacks reported, indexed by record idx.
    int[] sentPartition;
    long[] sentOffset;

    public static void main(String[] args) {
        ClientCheck c = new ClientCheck();
        try {
            c.parseArgs(args);
        } catch (IllegalArgumentException e) {
            System.err.println("usage: ClientCheck --bootstrap HOST:PORT --topic NAME --partitions P"
                    + " --records N [--compression none|gzip|snappy|lz4|zstd] [--group-free] [--property KEY=VALUE]..."
                    + " [--replication-factor R] [--topic-config KEY=VALUE]...");
            System.err.println("error: " + e.getMessage());
            System.exit(2);
        }
        try {
            c.run();
            System.out.println("OK java " + c.topic + " " + c.records + " records");
            System.exit(0);
        } catch (Failure e) {
            fail(c.topic, e.getMessage());
        } catch (Exception e) {
            // Unexpected client exceptions are failures too, reported on one line.
            Throwable t = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            fail(c.topic, t.getClass().getSimpleName() + ": " + (t.getMessage() != null ? t.getMessage() : "(no message)"));
        }
    }

    static void fail(String topic, String reason) {
        System.out.println("FAIL java " + topic + ": " + reason.replace('\n', ' '));
        System.exit(1);
    }

    void parseArgs(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--group-free")) {
                continue; // the only mode for now; accepted so callers can be explicit
            }
            if (i + 1 >= args.length) throw new IllegalArgumentException("missing value for " + a);
            String v = args[++i];
            switch (a) {
                case "--bootstrap" -> bootstrap = v;
                case "--topic" -> topic = v;
                case "--partitions" -> partitions = Integer.parseInt(v);
                case "--records" -> records = Integer.parseInt(v);
                case "--compression" -> compression = v;
                case "--replication-factor" -> replicationFactor = Short.parseShort(v);
                case "--records-per-second" -> recordsPerSecond = Integer.parseInt(v);
                case "--topic-config" -> {
                    int eq = v.indexOf('=');
                    if (eq <= 0) throw new IllegalArgumentException("--topic-config wants KEY=VALUE, got " + v);
                    topicConfigs.put(v.substring(0, eq), v.substring(eq + 1));
                }
                case "--property" -> {
                    int eq = v.indexOf('=');
                    if (eq <= 0) throw new IllegalArgumentException("--property wants KEY=VALUE, got " + v);
                    extra.put(v.substring(0, eq), v.substring(eq + 1));
                }
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        if (bootstrap == null || topic == null) throw new IllegalArgumentException("--bootstrap and --topic are required");
        if (partitions < 1 || records < 0) throw new IllegalArgumentException("--partitions >= 1 and --records >= 0 are required");
        if (!List.of("none", "gzip", "snappy", "lz4", "zstd").contains(compression))
            throw new IllegalArgumentException("bad --compression " + compression);
    }

    void run() throws Exception {
        long t0 = System.nanoTime();
        createTopic();
        long t1 = System.nanoTime();
        produce();
        long t2 = System.nanoTime();
        consumeAndVerify();
        long t3 = System.nanoTime();
        System.err.printf("java %s: create %.2fs, produce %.2fs, consume+verify %.2fs (%s, %d partitions)%n",
                topic, (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9, compression, partitions);
    }

    // ---- expected record content, a pure function of idx ----

    static String key(int idx) { return "key-" + (idx % KEYS); }

    static String value(int idx) {
        StringBuilder sb = new StringBuilder(VALUE_LEN).append("value-").append(idx).append('-');
        // Deterministic filler that differs per record, so misplaced bytes are caught.
        for (int j = 0; sb.length() < VALUE_LEN; j++) sb.append((char) ('a' + (idx + j) % 26));
        return sb.toString();
    }

    static long timestamp(int idx) { return BASE_TS + idx; }

    // ---- 1. topic ----

    void createTopic() throws Exception {
        Properties p = new Properties();
        p.putAll(extra);
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "shardlog-check-java-admin");
        // Let the client time out first (with a descriptive error) and keep
        // close() from waiting on a hung call for the 60 s default.
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(TimeUnit.SECONDS.toMillis(ADMIN_TIMEOUT_S)));
        try (Admin admin = Admin.create(p)) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, replicationFactor).configs(topicConfigs)))
                    .all().get(ADMIN_TIMEOUT_S + 5, TimeUnit.SECONDS);
            // CreateTopics returning only means the controller accepted it; poll
            // describe until every partition has a leader (bounded).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ADMIN_TIMEOUT_S);
            String last = "no description";
            while (true) {
                try {
                    TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames()
                            .get(ADMIN_TIMEOUT_S + 5, TimeUnit.SECONDS).get(topic);
                    if (d == null) {
                        last = "topic missing from DescribeTopics";
                    } else if (d.partitions().size() != partitions) {
                        throw new Failure("topic has " + d.partitions().size() + " partitions, expected " + partitions);
                    } else if (d.partitions().stream().allMatch(ClientCheck::hasLeader)) {
                        return;
                    } else {
                        last = "partitions without leader: " + d.partitions();
                    }
                } catch (ExecutionException e) {
                    last = String.valueOf(e.getCause()); // e.g. UnknownTopicOrPartition while metadata propagates
                }
                if (System.nanoTime() > deadline) throw new Failure("topic not ready after " + ADMIN_TIMEOUT_S + "s: " + last);
                Thread.sleep(100);
            }
        }
    }

    static boolean hasLeader(TopicPartitionInfo p) {
        return p.leader() != null && !p.leader().isEmpty();
    }

    // ---- 2. produce ----

    void produce() throws Exception {
        Properties p = new Properties();
        p.putAll(extra);
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "shardlog-check-java-producer");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        // Defaults otherwise (idempotent, acks=all): that is what real apps send.
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");

        sentPartition = new int[records];
        sentOffset = new long[records];
        AtomicReference<String> error = new AtomicReference<>();
        AtomicInteger acked = new AtomicInteger();

        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            long start = System.nanoTime();
            for (int i = 0; i < records && error.get() == null; i++) {
                pace(start, i);
                RecordHeaders headers = new RecordHeaders();
                headers.add("idx", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
                headers.add("src", "java".getBytes(StandardCharsets.UTF_8));
                final int idx = i;
                producer.send(new ProducerRecord<>(topic, null, timestamp(i), key(i), value(i), headers),
                        (md, e) -> {
                            if (e != null) {
                                error.compareAndSet(null, "send of record " + idx + " failed: " + e);
                                return;
                            }
                            sentPartition[idx] = md.partition();
                            sentOffset[idx] = md.offset();
                            acked.incrementAndGet(); // also publishes the array writes to main
                        });
            }
            producer.flush();
        }
        if (error.get() != null) throw new Failure(error.get());
        if (acked.get() != records) throw new Failure("only " + acked.get() + " of " + records + " sends acknowledged");
    }

    /** Sleeps until record i is due at recordsPerSecond from start (System.nanoTime()). */
    void pace(long start, int i) throws InterruptedException {
        if (recordsPerSecond <= 0) return;
        long wait = start + i * 1_000_000_000L / recordsPerSecond - System.nanoTime();
        if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
    }

    // ---- 3 + 4. consume without a group and verify ----

    void consumeAndVerify() throws Exception {
        Properties p = new Properties();
        p.putAll(extra);
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "shardlog-check-java-consumer");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        // No group.id: assign() + seek only, so no group coordinator is needed.
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");

        List<TopicPartition> tps = new ArrayList<>();
        for (int i = 0; i < partitions; i++) tps.add(new TopicPartition(topic, i));
        long[] nextOffset = new long[partitions]; // per partition: expected next offset == count so far
        boolean[] seen = new boolean[records];
        Map<String, Integer> keyPartition = new HashMap<>();
        int received = 0;

        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            long deadline = System.nanoTime() + CONSUME_TIMEOUT.toNanos();
            while (received < records) {
                if (System.nanoTime() > deadline) {
                    StringBuilder per = new StringBuilder();
                    for (int i = 0; i < partitions; i++) per.append(i == 0 ? "" : ", ").append("p").append(i).append('=').append(nextOffset[i]);
                    throw new Failure("timed out after " + CONSUME_TIMEOUT.toSeconds() + "s: received " + received
                            + " of " + records + " records (" + per + ")");
                }
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    verify(r, nextOffset, seen, keyPartition);
                    received++;
                }
            }
            // Reading exactly N proves nothing about extras beyond them: the log
            // end offsets must add up to N too.
            Map<TopicPartition, Long> ends = consumer.endOffsets(tps, Duration.ofSeconds(ADMIN_TIMEOUT_S));
            for (TopicPartition tp : tps) {
                long end = ends.get(tp);
                if (end != nextOffset[tp.partition()])
                    throw new Failure("partition " + tp.partition() + " end offset " + end + " but "
                            + nextOffset[tp.partition()] + " records were produced to it");
            }
        }
    }

    void verify(ConsumerRecord<String, String> r, long[] nextOffset, boolean[] seen,
                Map<String, Integer> keyPartition) throws Failure {
        String where = "p" + r.partition() + "@" + r.offset();
        if (r.partition() < 0 || r.partition() >= partitions) throw new Failure(where + ": unexpected partition");
        if (r.offset() != nextOffset[r.partition()])
            throw new Failure(where + ": expected offset " + nextOffset[r.partition()] + " (offsets must be contiguous from 0, in order)");
        nextOffset[r.partition()]++;

        Header[] hs = r.headers().toArray();
        Header idxH = r.headers().lastHeader("idx");
        Header srcH = r.headers().lastHeader("src");
        if (hs.length != 2 || idxH == null || srcH == null)
            throw new Failure(where + ": expected headers idx and src, got " + hs.length + " headers");
        String src = new String(srcH.value(), StandardCharsets.UTF_8);
        if (!src.equals("java")) throw new Failure(where + ": header src=" + src + ", expected java");
        String idxS = new String(idxH.value(), StandardCharsets.UTF_8);
        int idx;
        try {
            idx = Integer.parseInt(idxS);
        } catch (NumberFormatException e) {
            throw new Failure(where + ": bad idx header " + idxS);
        }
        if (idx < 0 || idx >= records) throw new Failure(where + ": idx " + idx + " out of range");
        if (seen[idx]) throw new Failure(where + ": duplicate record idx " + idx);
        seen[idx] = true;

        if (!key(idx).equals(r.key())) throw new Failure(where + ": idx " + idx + " key " + r.key() + ", expected " + key(idx));
        if (!value(idx).equals(r.value())) throw new Failure(where + ": idx " + idx + " value mismatch: " + r.value());
        if (r.timestamp() != timestamp(idx) || r.timestampType() != TimestampType.CREATE_TIME)
            throw new Failure(where + ": idx " + idx + " timestamp " + r.timestamp() + " " + r.timestampType()
                    + ", expected " + timestamp(idx) + " CreateTime");
        if (r.partition() != sentPartition[idx] || r.offset() != sentOffset[idx])
            throw new Failure(where + ": idx " + idx + " was acked at p" + sentPartition[idx] + "@" + sentOffset[idx]);
        Integer prev = keyPartition.putIfAbsent(r.key(), r.partition());
        if (prev != null && prev != r.partition())
            throw new Failure(where + ": key " + r.key() + " also seen in partition " + prev);
    }
}
