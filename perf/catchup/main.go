// Command catchup measures catch-up consumption: it reads every record already in a topic, from the
// start of every partition, without a consumer group (franz-go ConsumePartitions), and prints one JSON
// line with records, bytes, seconds, MB/s and records/s. Used by perf/single-node.sh against shardlog
// and Apache Kafka alike.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "catchup: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	bootstrap := flag.String("bootstrap", "127.0.0.1:9092", "broker host:port")
	topic := flag.String("topic", "", "topic to read from the beginning")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	flag.Parse()
	if *topic == "" {
		fail("--topic is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	admin, err := kgo.NewClient(kgo.SeedBrokers(*bootstrap))
	if err != nil {
		fail("%v", err)
	}
	ends, err := kadm.NewClient(admin).ListEndOffsets(ctx, *topic)
	if err != nil {
		fail("list end offsets: %v", err)
	}
	target := map[int32]int64{}
	var want int64
	ends.Each(func(o kadm.ListedOffset) {
		target[o.Partition] = o.Offset
		want += o.Offset
	})
	admin.Close()
	if want == 0 {
		fail("topic %s is empty", *topic)
	}

	start := map[int32]kgo.Offset{}
	for p := range target {
		start[p] = kgo.NewOffset().AtStart()
	}
	client, err := kgo.NewClient(
		kgo.SeedBrokers(*bootstrap),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{*topic: start}),
		kgo.FetchMaxBytes(64<<20),
		kgo.FetchMaxPartitionBytes(8<<20),
	)
	if err != nil {
		fail("%v", err)
	}
	defer client.Close()

	began := time.Now()
	var records, bytes int64
	for records < want {
		fetches := client.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			fail("timed out after %d of %d records", records, want)
		}
		fetches.EachError(func(t string, p int32, err error) { fail("fetch %s/%d: %v", t, p, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			records++
			bytes += int64(len(r.Key) + len(r.Value))
		})
	}
	secs := time.Since(began).Seconds()
	out, _ := json.Marshal(map[string]any{
		"records": records, "bytes": bytes, "seconds": secs,
		"mb_per_s": float64(bytes) / secs / 1e6, "records_per_s": float64(records) / secs,
	})
	fmt.Println(string(out))
}
