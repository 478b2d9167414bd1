// Command transactions runs franz-go's transactions for tests/it/transactional_clients.rs, with the
// same modes, arguments and output as tests/clients/java Transactions.java:
//
//	produce --bootstrap B --id ID --topics A,B --transactions N --records R
//	    N transactions of R records ("txn-I-J") over every partition of the topics in order;
//	    I % 3 == 2 aborted. Prints "committed I" / "aborted I".
//	copy --bootstrap B --id ID --group G --input T --output U --expect N
//	    consume-transform-produce with kgo.GroupTransactSession (read_committed): each poll's records
//	    go upper-cased to U and the group's offsets commit with them, until N records were copied.
//	    Prints "copied N".
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "transactions: "+format+"\n", args...)
	os.Exit(1)
}

type target struct {
	topic     string
	partition int32
}

func targets(ctx context.Context, cl *kgo.Client, topics []string) []target {
	details, err := kadm.NewClient(cl).ListTopics(ctx, topics...)
	if err != nil {
		fail("listing topics: %v", err)
	}
	var out []target
	for _, t := range topics {
		d, ok := details[t]
		if !ok || d.Err != nil {
			fail("topic %s: %v", t, d.Err)
		}
		var ps []int32
		for p := range d.Partitions {
			ps = append(ps, p)
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		for _, p := range ps {
			out = append(out, target{t, p})
		}
	}
	return out
}

func produce(ctx context.Context, bootstrap []string, id, topics string, transactions, records int) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...), kgo.TransactionalID(id),
		kgo.TransactionTimeout(30*time.Second), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		fail("client: %v", err)
	}
	defer cl.Close()
	all := targets(ctx, cl, strings.Split(topics, ","))
	sent := 0
	for i := 0; i < transactions; i++ {
		if err := cl.BeginTransaction(); err != nil {
			fail("begin %d: %v", i, err)
		}
		var batch []*kgo.Record
		for j := 0; j < records; j++ {
			t := all[sent%len(all)]
			sent++
			batch = append(batch, &kgo.Record{Topic: t.topic, Partition: t.partition, Value: []byte(fmt.Sprintf("txn-%d-%d", i, j))})
		}
		// Written before the end, so an abort has data to undo.
		if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
			fail("produce %d: %v", i, err)
		}
		commit := i%3 != 2
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			fail("end %d: %v", i, err)
		}
		if commit {
			fmt.Printf("committed %d\n", i)
		} else {
			fmt.Printf("aborted %d\n", i)
		}
	}
}

func copyRecords(ctx context.Context, bootstrap []string, id, group, input, output string, expect int) {
	s, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(bootstrap...), kgo.TransactionalID(id),
		kgo.TransactionTimeout(30*time.Second), kgo.ConsumerGroup(group), kgo.ConsumeTopics(input),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.RequireStableFetchOffsets())
	if err != nil {
		fail("session: %v", err)
	}
	defer s.Close()
	copied := 0
	idleSince := time.Now()
	for copied < expect {
		pollCtx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fetches := s.PollFetches(pollCtx)
		cancel()
		var in []*kgo.Record
		fetches.EachRecord(func(r *kgo.Record) { in = append(in, r) })
		if len(in) == 0 {
			if time.Since(idleSince) > time.Minute {
				fail("nothing to copy for 60 s after %d", copied)
			}
			continue
		}
		idleSince = time.Now()
		if err := s.Begin(); err != nil {
			fail("begin: %v", err)
		}
		var out []*kgo.Record
		for _, r := range in {
			out = append(out, &kgo.Record{Topic: output, Key: r.Key, Value: []byte(strings.ToUpper(string(r.Value)))})
		}
		if err := s.ProduceSync(ctx, out...).FirstErr(); err != nil {
			fail("produce: %v", err)
		}
		committed, err := s.End(ctx, kgo.TryCommit)
		if err != nil {
			fail("end: %v", err)
		}
		if committed {
			copied += len(in)
		}
	}
	fmt.Printf("copied %d\n", copied)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: transactions produce|copy --bootstrap B ...")
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	bootstrap := fs.String("bootstrap", "", "brokers, comma-separated")
	id := fs.String("id", "", "transactional id")
	topics := fs.String("topics", "", "produce: topics, comma-separated")
	transactions := fs.Int("transactions", 0, "produce: transactions")
	records := fs.Int("records", 0, "produce: records per transaction")
	group := fs.String("group", "", "copy: consumer group")
	input := fs.String("input", "", "copy: input topic")
	output := fs.String("output", "", "copy: output topic")
	expect := fs.Int("expect", 0, "copy: records to copy")
	_ = fs.Parse(os.Args[2:])
	ctx := context.Background()
	seeds := strings.Split(*bootstrap, ",")
	switch mode {
	case "produce":
		produce(ctx, seeds, *id, *topics, *transactions, *records)
	case "copy":
		copyRecords(ctx, seeds, *id, *group, *input, *output, *expect)
	default:
		fail("unknown mode %s", mode)
	}
}
