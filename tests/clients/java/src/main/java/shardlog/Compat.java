package shardlog;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Kafka-behaviour checks with the official Java client, one per subcommand; each is meant to pass
 * against a real Apache Kafka 4.4 and against shardlog alike.
 *
 * Usage: Compat SUBCOMMAND --bootstrap HOST:PORT --topic T [--records N --prefix P
 *        --compression none|gzip|snappy|lz4|zstd] [--expect N]
 *
 * stdout carries exactly one line: "OK SUBCOMMAND details" (exit 0) or "FAIL SUBCOMMAND: reason"
 * (exit 1). Usage errors exit 2. Pass/fail is decided on what the client observed, never on timing.
 */
public final class Compat {
    static final long ADMIN_TIMEOUT_S = 30;
    static final Duration CONSUME_TIMEOUT = Duration.ofSeconds(60);

    /** A check failed; its message is the one-line reason. */
    static final class Failure extends Exception {
        Failure(String msg) { super(msg); }
    }

    String bootstrap;
    String topic;
    int records = -1;
    String prefix;
    String compression = "none";
    int expect = -1;

    public static void main(String[] args) {
        if (args.length == 0) usage("no subcommand");
        String sub = args[0];
        Compat c = new Compat();
        try {
            c.parseArgs(args);
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
        }
        String result;
        try {
            result = switch (sub) {
                case "log-append-time" -> c.logAppendTime();
                case "alter-configs" -> c.alterConfigs();
                case "produce" -> c.produce();
                case "consume" -> c.consume();
                default -> { usage("unknown subcommand " + sub); yield null; }
            };
        } catch (Failure e) {
            System.out.println("FAIL " + sub + ": " + e.getMessage());
            System.exit(1);
            return;
        } catch (Exception e) {
            System.out.println("FAIL " + sub + ": " + describe(e));
            System.exit(1);
            return;
        }
        System.out.println("OK " + sub + " " + result);
        // Client threads (admin, consumer) must not keep the JVM alive.
        System.exit(0);
    }

    static void usage(String why) {
        System.err.println("Compat: " + why);
        System.err.println("usage: Compat log-append-time|alter-configs|produce|consume"
                + " --bootstrap HOST:PORT --topic T [--records N --prefix P --compression C] [--expect N]");
        System.exit(2);
    }

    void parseArgs(String[] args) {
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) throw new IllegalArgumentException("missing value for " + a);
            String v = args[++i];
            switch (a) {
                case "--bootstrap" -> bootstrap = v;
                case "--topic" -> topic = v;
                case "--records" -> records = Integer.parseInt(v);
                case "--prefix" -> prefix = v;
                case "--compression" -> compression = v;
                case "--expect" -> expect = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        if (bootstrap == null || topic == null) throw new IllegalArgumentException("--bootstrap and --topic are required");
    }

    // ---------------------------------------------------------------------------------------------
    // log-append-time: a topic with message.timestamp.type=LogAppendTime overwrites the producer's
    // CreateTime with the broker's clock. The produce response carries that log_append_time (the
    // Java client reports it in RecordMetadata.timestamp()), fetched records say LOG_APPEND_TIME with
    // the broker's time, and ListOffsets by timestamp searches the appended times, not the old ones.
    String logAppendTime() throws Exception {
        final long oldTs = 1_000_000_000_000L;
        final int n = 10;
        createTopic(topic, 1, Map.of("message.timestamp.type", "LogAppendTime"));
        TopicPartition tp = new TopicPartition(topic, 0);

        long t0 = System.currentTimeMillis();
        List<RecordMetadata> acks = new ArrayList<>();
        try (KafkaProducer<String, String> p = producer(Map.of())) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) fs.add(p.send(new ProducerRecord<>(topic, 0, oldTs, "k" + i, "v" + i)));
            for (Future<RecordMetadata> f : fs) acks.add(sendResult(f));
        }
        long t1 = System.currentTimeMillis();

        for (int i = 0; i < n; i++) {
            long ts = acks.get(i).timestamp();
            if (ts < t0 || ts > t1) {
                throw new Failure("ack " + i + " timestamp " + ts + " not the broker's append time in [" + t0 + ", " + t1
                        + "]" + (ts == oldTs ? " (the producer's CreateTime came back)" : ""));
            }
        }

        try (KafkaConsumer<String, String> c = consumer()) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            List<ConsumerRecord<String, String>> got = pollUntil(c, n);
            if (got.size() != n) throw new Failure("read " + got.size() + " of " + n + " records");
            for (ConsumerRecord<String, String> r : got) {
                if (r.timestampType() != TimestampType.LOG_APPEND_TIME) {
                    throw new Failure("offset " + r.offset() + " has timestamp type " + r.timestampType() + ", want LogAppendTime");
                }
                if (r.timestamp() < t0 || r.timestamp() > t1) {
                    throw new Failure("offset " + r.offset() + " timestamp " + r.timestamp() + " not in [" + t0 + ", " + t1 + "]");
                }
            }
            Map<TopicPartition, OffsetAndTimestamp> at0 = c.offsetsForTimes(Map.of(tp, t0), Duration.ofSeconds(ADMIN_TIMEOUT_S));
            OffsetAndTimestamp o0 = at0.get(tp);
            if (o0 == null || o0.offset() != 0) throw new Failure("offsetsForTimes(t0=" + t0 + ") = " + o0 + ", want offset 0");
            Map<TopicPartition, OffsetAndTimestamp> late = c.offsetsForTimes(Map.of(tp, t1 + 60_000), Duration.ofSeconds(ADMIN_TIMEOUT_S));
            if (late.get(tp) != null) throw new Failure("offsetsForTimes(t1+60s) = " + late.get(tp) + ", want null");
        }
        return n + " records, append times in [" + t0 + ", " + t1 + "], offsetsForTimes(t0)=0, offsetsForTimes(t1+60s)=null";
    }

    // ---------------------------------------------------------------------------------------------
    // alter-configs: IncrementalAlterConfigs APPEND/SUBTRACT on a list config (cleanup.policy)
    // edits the list ("delete" -> "delete,compact" -> "compact"), and DescribeConfigs with
    // include_synonyms reports the topic override as DYNAMIC_TOPIC_CONFIG, followed by its synonyms
    // down to the broker default (log.cleanup.policy); an untouched config comes from the broker's
    // defaults (DEFAULT_CONFIG or STATIC_BROKER_CONFIG).
    String alterConfigs() throws Exception {
        createTopic(topic, 1, Map.of("cleanup.policy", "delete"));
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        try (Admin admin = admin()) {
            alter(admin, res, AlterConfigOp.OpType.APPEND, "compact");
            awaitValue(admin, res, "cleanup.policy", "delete,compact");
            alter(admin, res, AlterConfigOp.OpType.SUBTRACT, "delete");
            awaitValue(admin, res, "cleanup.policy", "compact");

            Config cfg = admin.describeConfigs(List.of(res), new DescribeConfigsOptions().includeSynonyms(true))
                    .all().get(ADMIN_TIMEOUT_S, TimeUnit.SECONDS).get(res);
            ConfigEntry cp = cfg.get("cleanup.policy");
            if (cp == null) throw new Failure("describeConfigs has no cleanup.policy");
            if (cp.source() != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG) {
                throw new Failure("cleanup.policy source " + cp.source() + ", want DYNAMIC_TOPIC_CONFIG");
            }
            List<ConfigEntry.ConfigSynonym> syn = cp.synonyms();
            String synText = synonyms(syn);
            if (syn.size() < 2) throw new Failure("cleanup.policy synonyms " + synText + ", want at least 2");
            if (syn.get(0).source() != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG) {
                throw new Failure("cleanup.policy first synonym " + synText + ", want DYNAMIC_TOPIC_CONFIG first");
            }
            boolean brokerDefault = syn.stream().anyMatch(s -> s.name().equals("log.cleanup.policy")
                    && isBrokerDefault(s.source()));
            if (!brokerDefault) {
                throw new Failure("cleanup.policy synonyms " + synText + " lack log.cleanup.policy from DEFAULT_CONFIG/STATIC_BROKER_CONFIG");
            }
            ConfigEntry rm = cfg.get("retention.ms");
            if (rm == null) throw new Failure("describeConfigs has no retention.ms");
            if (!isBrokerDefault(rm.source())) {
                throw new Failure("retention.ms source " + rm.source() + ", want DEFAULT_CONFIG or STATIC_BROKER_CONFIG");
            }
            return "delete -> delete,compact -> compact; cleanup.policy " + cp.source() + " synonyms " + synText
                    + "; retention.ms " + rm.source() + " synonyms " + synonyms(rm.synonyms());
        }
    }

    static boolean isBrokerDefault(ConfigEntry.ConfigSource s) {
        return s == ConfigEntry.ConfigSource.DEFAULT_CONFIG || s == ConfigEntry.ConfigSource.STATIC_BROKER_CONFIG;
    }

    static String synonyms(List<ConfigEntry.ConfigSynonym> syn) {
        List<String> out = new ArrayList<>();
        for (ConfigEntry.ConfigSynonym s : syn) out.add(s.name() + "=" + s.value() + "(" + s.source() + ")");
        return out.toString().replace(" ", "");
    }

    void alter(Admin admin, ConfigResource res, AlterConfigOp.OpType op, String value) throws Exception {
        Map<ConfigResource, Collection<AlterConfigOp>> ops = Map.of(res,
                List.of(new AlterConfigOp(new ConfigEntry("cleanup.policy", value), op)));
        try {
            admin.incrementalAlterConfigs(ops).all().get(ADMIN_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new Failure("incrementalAlterConfigs " + op + " cleanup.policy=" + value + ": " + describe(e.getCause()));
        }
    }

    /** Describes until KEY has WANT (a broker may apply an alter asynchronously) or gives up. */
    void awaitValue(Admin admin, ConfigResource res, String key, String want) throws Exception {
        String got = null;
        for (int i = 0; i < 100; i++) {
            ConfigEntry e = admin.describeConfigs(List.of(res)).all().get(ADMIN_TIMEOUT_S, TimeUnit.SECONDS).get(res).get(key);
            got = e == null ? null : e.value();
            if (want.equals(got)) return;
            Thread.sleep(100);
        }
        throw new Failure(key + " is \"" + got + "\", want \"" + want + "\"");
    }

    // ---------------------------------------------------------------------------------------------
    // produce: N records (key = value = P-i) to partition 0 of an existing topic with the given
    // compression, acks=all; every send must be acknowledged.
    String produce() throws Exception {
        if (records < 0 || prefix == null) throw new IllegalArgumentException("produce needs --records N --prefix P");
        Map<String, Object> cfg = Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression,
                ProducerConfig.LINGER_MS_CONFIG, 5);
        try (KafkaProducer<String, String> p = producer(cfg)) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < records; i++) {
                String kv = prefix + "-" + i;
                fs.add(p.send(new ProducerRecord<>(topic, 0, kv, kv)));
            }
            for (Future<RecordMetadata> f : fs) sendResult(f);
        }
        return records + " records " + prefix + "-* compression " + compression;
    }

    // ---------------------------------------------------------------------------------------------
    // consume: reading partition 0 from the beginning (no group) yields exactly N records with N
    // distinct values: nothing lost, nothing duplicated, whatever codec each batch used.
    String consume() throws Exception {
        if (expect < 0) throw new IllegalArgumentException("consume needs --expect N");
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<String, String> c = consumer()) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            List<ConsumerRecord<String, String>> got = pollUntil(c, expect);
            Set<String> distinct = new HashSet<>();
            int dups = 0;
            for (ConsumerRecord<String, String> r : got) if (!distinct.add(r.value())) dups++;
            if (dups > 0) throw new Failure("read " + got.size() + " records, " + dups + " duplicate values");
            if (got.size() != expect) throw new Failure("read " + got.size() + " records, want " + expect);
            return got.size() + " records, " + distinct.size() + " distinct";
        }
    }

    // ---------------------------------------------------------------------------------------------

    Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "shardlog-compat-java");
        return Admin.create(p);
    }

    void createTopic(String name, int partitions, Map<String, String> configs) throws Exception {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs)))
                    .all().get(ADMIN_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new Failure("create topic " + name + " " + configs + ": " + describe(e.getCause()));
        }
    }

    KafkaProducer<String, String> producer(Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "shardlog-compat-java");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.putAll(extra);
        return new KafkaProducer<>(p);
    }

    KafkaConsumer<String, String> consumer() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "shardlog-compat-java");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        return new KafkaConsumer<>(p);
    }

    /** Polls until at least N records were read or CONSUME_TIMEOUT passed; returns what was read. */
    static List<ConsumerRecord<String, String>> pollUntil(KafkaConsumer<String, String> c, int n) {
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        long deadline = System.nanoTime() + CONSUME_TIMEOUT.toNanos();
        while (got.size() < n && System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) got.add(r);
        }
        return got;
    }

    static RecordMetadata sendResult(Future<RecordMetadata> f) throws Exception {
        try {
            return f.get(120, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new Failure("send failed: " + describe(e.getCause()));
        }
    }

    static String describe(Throwable e) {
        if (e instanceof ExecutionException && e.getCause() != null) e = e.getCause();
        String s = e.getClass().getName() + ": " + e.getMessage();
        if (e.getCause() != null && e.getCause() != e) s += " (cause " + e.getCause().getClass().getName() + ": " + e.getCause().getMessage() + ")";
        return s.replace('\n', ' ');
    }
}
