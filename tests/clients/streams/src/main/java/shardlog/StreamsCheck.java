package shardlog;

import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;

/**
 * A Kafka Streams application for the acceptance test tests/it/streams.rs. Input records are
 * (key = user, value = word). The topology:
 *
 *   1. groupBy(word)  -> repartition topic APP-by-word-repartition
 *      count()        -> KTable in store "word-counts", changelog APP-word-counts-changelog
 *      -> COUNTS_OUTPUT: key = word, value = the count as decimal text
 *   2. groupByKey().windowedBy(tumbling WINDOW_SECONDS s, grace 2 h)
 *      aggregate(sum of word lengths) -> store "user-window-sums", changelog
 *      APP-user-window-sums-changelog
 *      -> WINDOWED_OUTPUT: key = "user@windowStartMs", value = the sum as decimal text
 *
 * Streams creates its internal topics itself. processing.guarantee is left at its default
 * (at_least_once); the record cache is off (statestore.cache.max.bytes=0) so every update reaches
 * the output, and the last value per key is the final one.
 *
 * stdout carries one line per event, flushed at once:
 *   config processing.guarantee=at_least_once
 *   state FROM TO                       (KafkaStreams state changes)
 *   restore-start STORE TOPIC-PARTITION FROM_OFFSET END_OFFSET
 *   restored STORE TOPIC-PARTITION RECORDS        (a store partition restored from its changelog)
 *   error MESSAGE                       (an uncaught exception: the client shuts down, exit 1)
 *   closed                              (after close() on SIGTERM)
 * Client logs go to stderr. SIGTERM: close() (commits what was processed) and exit 0.
 *
 * Usage: StreamsCheck --bootstrap HOST:PORT --application-id ID --input T --counts-output T
 *   --windowed-output T --state-dir DIR [--window-seconds 60] [--commit-interval-ms 200]
 *   [--property K=V ...]
 */
public final class StreamsCheck {
    static synchronized void emit(String line) {
        System.out.println(line);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = null, applicationId = null, input = null, countsOutput = null,
                windowedOutput = null, stateDir = null;
        long windowSeconds = 60, commitIntervalMs = 200;
        Properties extra = new Properties();
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--bootstrap" -> bootstrap = v;
                case "--application-id" -> applicationId = v;
                case "--input" -> input = v;
                case "--counts-output" -> countsOutput = v;
                case "--windowed-output" -> windowedOutput = v;
                case "--state-dir" -> stateDir = v;
                case "--window-seconds" -> windowSeconds = Long.parseLong(v);
                case "--commit-interval-ms" -> commitIntervalMs = Long.parseLong(v);
                case "--property" -> {
                    int eq = v.indexOf('=');
                    extra.setProperty(v.substring(0, eq), v.substring(eq + 1));
                }
                default -> {
                    System.err.println("unknown argument " + args[i]);
                    System.exit(2);
                }
            }
            i++;
        }
        if (bootstrap == null || applicationId == null || input == null || countsOutput == null
                || windowedOutput == null || stateDir == null) {
            System.err.println("usage: StreamsCheck --bootstrap HOST:PORT --application-id ID --input T"
                    + " --counts-output T --windowed-output T --state-dir DIR");
            System.exit(2);
        }

        StreamsBuilder builder = new StreamsBuilder();
        KStream<String, String> words =
                builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()));

        words.groupBy((user, word) -> word, Grouped.with("by-word", Serdes.String(), Serdes.String()))
                .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("word-counts")
                        .withKeySerde(Serdes.String())
                        .withValueSerde(Serdes.Long()))
                .toStream()
                .mapValues(count -> Long.toString(count))
                .to(countsOutput, Produced.with(Serdes.String(), Serdes.String()));

        words.groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
                .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofSeconds(windowSeconds), Duration.ofHours(2)))
                .aggregate(() -> 0L, (user, word, sum) -> sum + word.length(),
                        Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("user-window-sums")
                                .withKeySerde(Serdes.String())
                                .withValueSerde(Serdes.Long()))
                .toStream((windowed, sum) -> windowed.key() + "@" + windowed.window().start())
                .mapValues(sum -> Long.toString(sum))
                .to(windowedOutput, Produced.with(Serdes.String(), Serdes.String()));

        Topology topology = builder.build();
        System.err.println(topology.describe());

        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.toString(commitIntervalMs));
        props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, "0");
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, "1");
        // A restarted instance (new member id) waits for the old member's session to end before the
        // group settles: keep that short. Streams consumers do not leave the group on close().
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), "10000");
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), "1000");
        props.putAll(extra);

        KafkaStreams streams = new KafkaStreams(topology, props);
        emit("config processing.guarantee="
                + new StreamsConfig(props).getString(StreamsConfig.PROCESSING_GUARANTEE_CONFIG));
        streams.setStateListener((to, from) -> emit("state " + from + " " + to));
        streams.setGlobalStateRestoreListener(new StateRestoreListener() {
            @Override
            public void onRestoreStart(TopicPartition tp, String store, long start, long end) {
                emit("restore-start " + store + " " + tp + " " + start + " " + end);
            }

            @Override
            public void onBatchRestored(TopicPartition tp, String store, long batchEnd, long restored) {
            }

            @Override
            public void onRestoreEnd(TopicPartition tp, String store, long totalRestored) {
                emit("restored " + store + " " + tp + " " + totalRestored);
            }
        });
        AtomicBoolean failed = new AtomicBoolean(false);
        CountDownLatch done = new CountDownLatch(1);
        streams.setUncaughtExceptionHandler(e -> {
            Throwable root = e;
            StringBuilder msg = new StringBuilder(String.valueOf(e));
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
                msg.append(" / caused by: ").append(root);
            }
            emit("error " + msg.toString().replace('\n', ' '));
            e.printStackTrace();
            failed.set(true);
            done.countDown();
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(60));
            emit("closed");
            done.countDown();
        }));
        streams.start();
        done.await();
        if (failed.get()) {
            streams.close(Duration.ofSeconds(10));
            System.exit(1);
        }
    }
}
