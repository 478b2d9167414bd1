// Command group-member is a long-running consumer-group member for the group
// tests (tests/it/groups.rs), using franz-go: it joins a group with a topic
// subscription (kgo.ConsumeTopics + kgo.ConsumerGroup), autocommit off, a
// synchronous commit of what each poll returned, reset to the earliest offset.
//
// stdout carries one JSON object per line, flushed at once; every line has
// "ts" (epoch ms) and "event":
//
//	{"event":"started"}
//	{"event":"assigned","partitions":[..],"owned":[..]}   (owned = assignment after the change)
//	{"event":"revoked","partitions":[..],"owned":[..]}
//	{"event":"lost","partitions":[..],"owned":[..]}
//	{"event":"records","records":[[partition,offset,"value"],..]}   (one line per non-empty poll)
//	{"event":"committed","offsets":{"partition":next_offset,..}}
//	{"event":"commit_failed","error":"..."}
//	{"event":"error","error":"..."}
//	{"event":"closed"}                                   (after Close() on SIGTERM)
//
// Client logs (warn+) go to stderr. SIGTERM: Close() (LeaveGroup) and exit 0;
// SIGKILL simulates a crash.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

var outMu sync.Mutex

func emit(event string, fields map[string]any) {
	m := map[string]any{"ts": time.Now().UnixMilli(), "event": event}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	outMu.Lock()
	os.Stdout.Write(append(b, '\n'))
	outMu.Unlock()
}

func main() {
	fs := flag.NewFlagSet("group-member", flag.ExitOnError)
	bootstrap := fs.String("bootstrap", "", "HOST:PORT")
	topic := fs.String("topic", "", "topic to subscribe to")
	group := fs.String("group", "", "group id")
	session := fs.Int("session-timeout-ms", 10000, "session timeout (classic protocol)")
	heartbeat := fs.Int("heartbeat-interval-ms", 1000, "heartbeat interval (classic protocol)")
	protocol := fs.String("group-protocol", "classic", "classic | consumer (KIP-848, server-side assignor; needs --assignor range or sticky)")
	assignor := fs.String("assignor", "cooperative-sticky", "range | roundrobin | sticky | cooperative-sticky")
	instance := fs.String("group-instance-id", "", "static membership id (optional)")
	clientID := fs.String("client-id", "group-member-franz-go", "client id")
	maxPoll := fs.Int("max-poll-records", 500, "records per poll at most")
	debug := fs.Bool("debug", false, "franz-go debug logging to stderr")
	fs.Parse(os.Args[1:])
	if *bootstrap == "" || *topic == "" || *group == "" {
		fmt.Fprintln(os.Stderr, "group-member: --bootstrap, --topic and --group are required")
		os.Exit(2)
	}

	var balancer kgo.GroupBalancer
	switch *assignor {
	case "range":
		balancer = kgo.RangeBalancer()
	case "roundrobin":
		balancer = kgo.RoundRobinBalancer()
	case "sticky":
		balancer = kgo.StickyBalancer()
	case "cooperative-sticky":
		balancer = kgo.CooperativeStickyBalancer()
	default:
		fmt.Fprintln(os.Stderr, "group-member: unknown --assignor", *assignor)
		os.Exit(2)
	}

	var ownedMu sync.Mutex
	owned := map[int32]bool{}
	change := func(event string, m map[string][]int32, add bool) {
		ownedMu.Lock()
		defer ownedMu.Unlock()
		parts := append([]int32{}, m[*topic]...)
		for _, p := range parts {
			if add {
				owned[p] = true
			} else {
				delete(owned, p)
			}
		}
		all := []int32{}
		for p := range owned {
			all = append(all, p)
		}
		sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		emit(event, map[string]any{"partitions": parts, "owned": all})
	}

	level := kgo.LogLevelWarn
	if *debug {
		level = kgo.LogLevelDebug
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(strings.Split(*bootstrap, ",")...),
		kgo.ClientID(*clientID),
		kgo.ConsumerGroup(*group),
		kgo.ConsumeTopics(*topic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(time.Duration(*session) * time.Millisecond),
		kgo.HeartbeatInterval(time.Duration(*heartbeat) * time.Millisecond),
		kgo.Balancers(balancer),
		// Commits then happen between polls without a rebalance in the middle.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { change("assigned", m, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { change("revoked", m, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) { change("lost", m, false) }),
		kgo.WithLogger(kgo.BasicLogger(os.Stderr, level, nil)),
	}
	if *protocol == "consumer" {
		opts = append(opts, kgo.ServerSideBalancer())
	} else if *protocol != "classic" {
		fmt.Fprintln(os.Stderr, "group-member: unknown --group-protocol", *protocol)
		os.Exit(2)
	}
	if *instance != "" {
		opts = append(opts, kgo.InstanceID(*instance))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "group-member:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	emit("started", nil)
	for ctx.Err() == nil {
		pollCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fetches := cl.PollRecords(pollCtx, *maxPoll)
		cancel()
		if fetches.IsClientClosed() {
			break
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				emit("error", map[string]any{"error": fmt.Sprintf("%s[%d]: %v", t, p, err)})
			}
		})
		var recs []*kgo.Record
		out := [][]any{}
		commit := map[string]int64{}
		fetches.EachRecord(func(r *kgo.Record) {
			recs = append(recs, r)
			out = append(out, []any{r.Partition, r.Offset, string(r.Value)})
			commit[strconv.Itoa(int(r.Partition))] = r.Offset + 1
		})
		if len(recs) > 0 {
			emit("records", map[string]any{"records": out})
			// A commit in flight when SIGTERM arrives still completes: use a context of its own.
			cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := cl.CommitRecords(cctx, recs...); err != nil {
				emit("commit_failed", map[string]any{"error": err.Error()})
			} else {
				emit("committed", map[string]any{"offsets": commit})
			}
			ccancel()
		}
		cl.AllowRebalance()
	}
	cl.AllowRebalance()
	cl.Close() // leaves the group (unless static), running the revoke callback
	emit("closed", nil)
}
