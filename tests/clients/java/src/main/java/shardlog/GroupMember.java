package shardlog;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A long-running consumer-group member for the group tests (tests/it/groups.rs), using the official
 * Java client: subscribe() to one topic in one group, auto-commit off, commitSync() of what each
 * poll returned, auto.offset.reset=earliest.
 *
 * stdout carries one JSON object per line, flushed at once; every line has "ts" (epoch ms,
 * System.currentTimeMillis) and "event":
 *   {"event":"started"}
 *   {"event":"assigned","partitions":[..],"owned":[..]}   (owned = assignment after the change)
 *   {"event":"revoked","partitions":[..],"owned":[..]}
 *   {"event":"lost","partitions":[..],"owned":[..]}
 *   {"event":"records","records":[[partition,offset,"value"],..]}   (one line per non-empty poll)
 *   {"event":"committed","offsets":{"partition":next_offset,..}}
 *   {"event":"commit_failed","error":"..."}
 *   {"event":"error","error":"..."}                   (+ "fatal":true, then close() and exit 1)
 *   {"event":"closed"}                                   (after close() on SIGTERM)
 * Client logs go to stderr. SIGTERM: close() (LeaveGroup) and exit 0; SIGKILL simulates a crash.
 *
 * Usage: GroupMember --bootstrap HOST:PORT --topic T --group G [--session-timeout-ms 10000]
 *   [--heartbeat-interval-ms 1000] [--group-protocol classic|consumer]
 *   [--assignor range|roundrobin|sticky|cooperative-sticky (classic) | uniform|range (consumer)]
 *   [--group-instance-id ID] [--client-id ID] [--max-poll-records 500]
 */
public final class GroupMember {
    static final Object OUT = new Object();

    static void emit(String event, String rest) {
        String line = "{\"ts\":" + System.currentTimeMillis() + ",\"event\":\"" + event + "\""
                + (rest.isEmpty() ? "" : "," + rest) + "}";
        synchronized (OUT) {
            System.out.println(line);
            System.out.flush();
        }
    }

    static String str(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }

    static String parts(Collection<TopicPartition> tps) {
        TreeSet<Integer> s = new TreeSet<>();
        for (TopicPartition tp : tps) s.add(tp.partition());
        return s.toString().replace(" ", "");
    }

    public static void main(String[] args) {
        Map<String, String> a = new HashMap<>();
        a.put("--session-timeout-ms", "10000");
        a.put("--heartbeat-interval-ms", "1000");
        a.put("--group-protocol", "classic");
        a.put("--max-poll-records", "500");
        for (int i = 0; i < args.length; i++) {
            if (i + 1 >= args.length || !a.containsKey(args[i]) && !List.of("--bootstrap", "--topic", "--group",
                    "--assignor", "--group-instance-id", "--client-id").contains(args[i])) {
                System.err.println("usage: GroupMember --bootstrap HOST:PORT --topic T --group G"
                        + " [--session-timeout-ms MS] [--heartbeat-interval-ms MS] [--group-protocol classic|consumer]"
                        + " [--assignor NAME] [--group-instance-id ID] [--client-id ID] [--max-poll-records N]");
                System.exit(2);
            }
            a.put(args[i], args[++i]);
        }
        if (a.get("--bootstrap") == null || a.get("--topic") == null || a.get("--group") == null) {
            System.err.println("GroupMember: --bootstrap, --topic and --group are required");
            System.exit(2);
        }
        String topic = a.get("--topic");
        boolean classic = a.get("--group-protocol").equals("classic");

        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("--bootstrap"));
        p.put(ConsumerConfig.GROUP_ID_CONFIG, a.get("--group"));
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, a.getOrDefault("--client-id", "group-member-java"));
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, a.get("--max-poll-records"));
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, a.get("--group-protocol"));
        if (classic) {
            // With group.protocol=consumer these are broker-side settings and the client rejects them.
            p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, a.get("--session-timeout-ms"));
            p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, a.get("--heartbeat-interval-ms"));
        }
        String assignor = a.get("--assignor");
        if (assignor != null) {
            if (classic) {
                String cls = switch (assignor) {
                    case "range" -> "org.apache.kafka.clients.consumer.RangeAssignor";
                    case "roundrobin" -> "org.apache.kafka.clients.consumer.RoundRobinAssignor";
                    case "sticky" -> "org.apache.kafka.clients.consumer.StickyAssignor";
                    case "cooperative-sticky" -> "org.apache.kafka.clients.consumer.CooperativeStickyAssignor";
                    default -> assignor;
                };
                p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, cls);
            } else {
                p.put(ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG, assignor);
            }
        }
        if (a.get("--group-instance-id") != null) {
            p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, a.get("--group-instance-id"));
        }

        KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p);
        Thread main = Thread.currentThread();
        final boolean[] stopping = {false};
        final int[] exitCode = {0};
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            synchronized (stopping) {
                if (exitCode[0] != 0) return; // main exits on its own after a fatal error
                stopping[0] = true;
            }
            consumer.wakeup();
            try {
                main.join(30_000);
            } catch (InterruptedException ignored) {
            }
            Runtime.getRuntime().halt(0); // SIGTERM after a clean close() is a success
        }));

        TreeSet<Integer> owned = new TreeSet<>();
        consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> tps) {
                for (TopicPartition tp : tps) owned.add(tp.partition());
                emit("assigned", "\"partitions\":" + parts(tps) + ",\"owned\":" + owned.toString().replace(" ", ""));
            }

            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> tps) {
                for (TopicPartition tp : tps) owned.remove(tp.partition());
                emit("revoked", "\"partitions\":" + parts(tps) + ",\"owned\":" + owned.toString().replace(" ", ""));
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> tps) {
                for (TopicPartition tp : tps) owned.remove(tp.partition());
                emit("lost", "\"partitions\":" + parts(tps) + ",\"owned\":" + owned.toString().replace(" ", ""));
            }
        });
        emit("started", "");

        try {
            while (true) {
                synchronized (stopping) { if (stopping[0]) break; }
                ConsumerRecords<String, String> recs;
                try {
                    recs = consumer.poll(Duration.ofMillis(200));
                } catch (WakeupException e) {
                    break;
                } catch (RetriableException e) {
                    emit("error", "\"error\":" + str(e.toString()));
                    continue;
                } catch (Exception e) {
                    // Fatal for this consumer (e.g. UnsupportedVersionException for group.protocol=consumer
                    // on a broker without KIP-848): say so and exit 1 rather than hang.
                    emit("error", "\"error\":" + str(e.toString()) + ",\"fatal\":true");
                    synchronized (stopping) {
                        if (stopping[0]) break; // SIGTERM raced with the error: the hook exits 0
                        exitCode[0] = 1;
                    }
                    break;
                }
                if (recs.isEmpty()) continue;
                StringBuilder b = new StringBuilder("\"records\":[");
                Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
                boolean first = true;
                for (ConsumerRecord<String, String> r : recs) {
                    if (!first) b.append(',');
                    first = false;
                    b.append('[').append(r.partition()).append(',').append(r.offset()).append(',')
                            .append(str(r.value() == null ? "" : r.value())).append(']');
                    commit.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                emit("records", b.append(']').toString());
                try {
                    consumer.commitSync(commit);
                    TreeMap<Integer, Long> c = new TreeMap<>();
                    commit.forEach((tp, om) -> c.put(tp.partition(), om.offset()));
                    List<String> kv = new ArrayList<>();
                    c.forEach((k, v) -> kv.add("\"" + k + "\":" + v));
                    emit("committed", "\"offsets\":{" + String.join(",", kv) + "}");
                } catch (WakeupException e) {
                    break;
                } catch (Exception e) {
                    emit("commit_failed", "\"error\":" + str(e.toString()));
                }
            }
        } finally {
            try {
                consumer.close(Duration.ofSeconds(10));
            } catch (Exception e) {
                emit("error", "\"error\":" + str("close: " + e));
            }
            emit("closed", "");
        }
        boolean hookExits;
        synchronized (stopping) {
            hookExits = stopping[0];
        }
        // (Outside the lock: System.exit runs the shutdown hook, which takes it.)
        if (!hookExits) System.exit(exitCode[0]);
    }
}
