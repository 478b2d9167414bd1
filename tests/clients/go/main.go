// Command client-check is an end-to-end check of a Kafka-compatible broker
// with franz-go.
//
// It creates a topic, produces N records with keys, headers and explicit
// timestamps, reads them back without consumer-group membership
// (kgo.ConsumePartitions from the start, no commits) and verifies every record
// against its produce result.
//
// Exit 0 and prints "OK franz-go <topic> <N> records" on success; exit 1 with
// a one-line "FAIL franz-go: <reason>" on the first mismatch.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

const (
	client          = "franz-go"
	baseTS          = int64(1_700_000_000_000)
	valueSize       = 100
	alphabet        = "abcdefghijklmnopqrstuvwxyz0123456789"
	consumeTimeout  = 60 * time.Second
	metadataTimeout = 30 * time.Second
	produceTimeout  = 120 * time.Second
)

var cycle = strings.Repeat(alphabet, 4)

type failure string

func fail(format string, args ...any) { panic(failure(fmt.Sprintf(format, args...))) }

func keyOf(i int) []byte { return []byte("key-" + strconv.Itoa(i%1000)) }

// valueOf is "value-<i>-" followed by a deterministic filler up to valueSize bytes.
func valueOf(i int) []byte {
	prefix := "value-" + strconv.Itoa(i) + "-"
	n := max(0, valueSize-len(prefix))
	start := i % len(alphabet)
	return []byte(prefix + cycle[start:start+n])
}

type args struct {
	bootstrap, topic, compression string
	partitions, records           int
	debug                         bool
	// The new topic's replication factor and configs (KEY=VALUE each).
	replicationFactor int
	topicConfigs      keyValues
	// Produce at most this many records a second (0: as fast as the client goes), so a run can
	// span broker faults.
	recordsPerSecond int
	// MECHANISM:USER:PASSWORD with MECHANISM PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL).
	sasl string
	// TLS: the CA bundle that signed the broker's certificate (empty with tls: the system's), and an
	// optional client certificate and key.
	tls                    bool
	tlsCA, tlsCert, tlsKey string
}

// keyValues collects a repeated KEY=VALUE flag.
type keyValues map[string]*string

func (kv keyValues) String() string { return fmt.Sprint(map[string]*string(kv)) }

func (kv keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	kv[k] = &v
	return nil
}

// pace sleeps until record i is due when sending perSecond records a second from start.
func pace(start time.Time, i, perSecond int) {
	if perSecond > 0 {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(perSecond))))
	}
}

func parseArgs() args {
	a := args{topicConfigs: keyValues{}}
	fs := flag.NewFlagSet("client-check", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported as one FAIL line
	fs.StringVar(&a.bootstrap, "bootstrap", "", "HOST:PORT[,HOST:PORT...]")
	fs.StringVar(&a.topic, "topic", "", "topic to create")
	fs.IntVar(&a.partitions, "partitions", 0, "partitions")
	fs.IntVar(&a.records, "records", 0, "records to produce")
	fs.StringVar(&a.compression, "compression", "", "none|gzip|snappy|lz4|zstd")
	fs.IntVar(&a.replicationFactor, "replication-factor", 1, "replication factor of the new topic")
	fs.Var(a.topicConfigs, "topic-config", "KEY=VALUE config of the new topic (repeatable)")
	fs.IntVar(&a.recordsPerSecond, "records-per-second", 0, "pace the producer (0: unpaced)")
	fs.BoolVar(&a.debug, "debug", false, "franz-go debug logging to stderr")
	fs.StringVar(&a.sasl, "sasl", "", "MECHANISM:USER:PASSWORD (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")
	fs.BoolVar(&a.tls, "tls", false, "connect with TLS (implied by -tls-ca, -tls-cert)")
	fs.StringVar(&a.tlsCA, "tls-ca", "", "PEM file of the CAs trusted for the broker's certificate")
	fs.StringVar(&a.tlsCert, "tls-cert", "", "PEM file of the client certificate (with -tls-key)")
	fs.StringVar(&a.tlsKey, "tls-key", "", "PEM file of the client certificate's private key")
	if err := fs.Parse(os.Args[1:]); err != nil {
		fail("bad arguments: %v", err)
	}
	if a.bootstrap == "" || a.topic == "" || a.partitions < 1 || a.records < 1 || a.compression == "" {
		fail("usage: --bootstrap HOST:PORT --topic NAME --partitions P --records N --compression none|gzip|snappy|lz4|zstd")
	}
	return a
}

func codec(name string) kgo.CompressionCodec {
	switch name {
	case "none":
		return kgo.NoCompression()
	case "gzip":
		return kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	}
	fail("unknown --compression %q (none|gzip|snappy|lz4|zstd)", name)
	return kgo.CompressionCodec{}
}

// saslMechanism turns --sasl MECHANISM:USER:PASSWORD into franz-go's mechanism.
func saslMechanism(spec string) sasl.Mechanism {
	parts := strings.SplitN(spec, ":", 3)
	if len(parts) != 3 {
		fail("--sasl wants MECHANISM:USER:PASSWORD, got %q", spec)
	}
	user, pass := parts[1], parts[2]
	switch parts[0] {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism()
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
	}
	fail("unknown SASL mechanism %q", parts[0])
	return nil
}

// tlsConfig builds the TLS config the -tls* flags ask for (nil: plaintext).
func tlsConfig(a args) *tls.Config {
	if !a.tls && a.tlsCA == "" && a.tlsCert == "" {
		return nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.tlsCA != "" {
		pem, err := os.ReadFile(a.tlsCA)
		if err != nil {
			fail("-tls-ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fail("-tls-ca %s: no certificate", a.tlsCA)
		}
		cfg.RootCAs = pool
	}
	if a.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(a.tlsCert, a.tlsKey)
		if err != nil {
			fail("-tls-cert/-tls-key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg
}

func newClient(a args, opts ...kgo.Opt) *kgo.Client {
	opts = append([]kgo.Opt{kgo.SeedBrokers(strings.Split(a.bootstrap, ",")...)}, opts...)
	if a.sasl != "" {
		opts = append(opts, kgo.SASL(saslMechanism(a.sasl)))
	}
	if cfg := tlsConfig(a); cfg != nil {
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if a.debug {
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil)))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		fail("new client: %v", err)
	}
	return cl
}

func createTopic(cl *kgo.Client, a args) {
	topic, partitions := a.topic, a.partitions
	ctx, cancel := context.WithTimeout(context.Background(), metadataTimeout)
	defer cancel()
	rf := int16(a.replicationFactor)
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, int32(partitions), rf, a.topicConfigs, topic); err != nil {
		fail("create topic %s: %v", topic, err)
	}
	// Wait until a fresh (uncached) metadata response shows the topic with
	// P partitions, each with a leader.
	last := "no metadata"
	for ctx.Err() == nil {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		switch {
		case err != nil:
			last = "metadata request failed: " + err.Error()
		case len(resp.Topics) != 1 || resp.Topics[0].Topic == nil || *resp.Topics[0].Topic != topic:
			last = "topic missing from metadata"
		case resp.Topics[0].ErrorCode != 0:
			last = "topic error in metadata: " + kerr.ErrorForCode(resp.Topics[0].ErrorCode).Error()
		case len(resp.Topics[0].Partitions) != partitions:
			last = fmt.Sprintf("metadata shows %d partitions, want %d", len(resp.Topics[0].Partitions), partitions)
		default:
			ids := make([]int, 0, partitions)
			var bad []string
			for _, p := range resp.Topics[0].Partitions {
				ids = append(ids, int(p.Partition))
				if p.ErrorCode != 0 || p.Leader < 0 {
					bad = append(bad, strconv.Itoa(int(p.Partition)))
				}
			}
			sort.Ints(ids)
			if ids[0] != 0 || ids[len(ids)-1] != partitions-1 {
				last = fmt.Sprintf("metadata partition ids %v, want 0..%d", ids, partitions-1)
			} else if len(bad) > 0 {
				last = "partitions without leader or with error: " + strings.Join(bad, ",")
			} else {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	fail("topic %s not ready after %v: %s", topic, metadataTimeout, last)
}

func produce(cl *kgo.Client, topic string, n, perSecond int) (drPart []int32, drOff []int64) {
	drPart = make([]int32, n)
	drOff = make([]int64, n)
	for i := range drOff {
		drOff[i] = -1
	}
	var (
		mu       sync.Mutex
		firstErr string
		keyPart  = make(map[int]int32, 1000)
	)
	setErr := func(s string) {
		if firstErr == "" {
			firstErr = s
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), produceTimeout)
	defer cancel()
	src := []byte(client)
	start := time.Now()
	for i := 0; i < n; i++ {
		pace(start, i, perSecond)
		rec := &kgo.Record{
			Topic:     topic,
			Key:       keyOf(i),
			Value:     valueOf(i),
			Timestamp: time.UnixMilli(baseTS + int64(i)),
			Headers: []kgo.RecordHeader{
				{Key: "idx", Value: []byte(strconv.Itoa(i))},
				{Key: "src", Value: src},
			},
		}
		idx := i
		cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				setErr(fmt.Sprintf("delivery of record %d failed: %v", idx, err))
				return
			}
			drPart[idx], drOff[idx] = r.Partition, r.Offset
			k := idx % 1000
			if kp, ok := keyPart[k]; !ok {
				keyPart[k] = r.Partition
			} else if kp != r.Partition {
				setErr(fmt.Sprintf("key-%d delivered to partition %d and %d", k, kp, r.Partition))
			}
		})
		if i%1000 == 999 {
			mu.Lock()
			e := firstErr
			mu.Unlock()
			if e != "" {
				fail("%s", e)
			}
		}
	}
	flushErr := cl.Flush(ctx)
	mu.Lock()
	defer mu.Unlock()
	if firstErr != "" {
		fail("%s", firstErr)
	}
	if flushErr != nil {
		fail("flush: %v", flushErr)
	}
	for i, o := range drOff {
		if o < 0 {
			fail("record %d without delivery report", i)
		}
	}
	return drPart, drOff
}

func consumeAndCheck(a args, drPart []int32, drOff []int64) []int64 {
	n, partitions := a.records, a.partitions
	offsets := make(map[int32]kgo.Offset, partitions)
	for p := 0; p < partitions; p++ {
		offsets[int32(p)] = kgo.NewOffset().AtStart()
	}
	// No group: explicit partitions from the start, nothing is ever committed.
	// Closed only on success: a failure exits without waiting on the broker.
	cl := newClient(a, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{a.topic: offsets}))

	nextOff := make([]int64, partitions)
	seen := make([]bool, n)
	keyPart := make(map[int]int32, 1000)
	src := []byte(client)
	count := 0
	counts := func() string {
		s := make([]string, partitions)
		for p, o := range nextOff {
			s[p] = fmt.Sprintf("p%d=%d", p, o)
		}
		return strings.Join(s, ", ")
	}

	ctx, cancel := context.WithTimeout(context.Background(), consumeTimeout)
	defer cancel()
	for count < n {
		fetches := cl.PollRecords(ctx, 10000)
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, context.DeadlineExceeded) || errors.Is(fe.Err, context.Canceled) || ctx.Err() != nil {
				fail("timeout after %v: consumed %d of %d records, per partition %s", consumeTimeout, count, n, counts())
			}
			fail("fetch error on %s partition %d: %v", fe.Topic, fe.Partition, fe.Err)
		}
		for _, r := range fetches.Records() {
			p, o := r.Partition, r.Offset
			if r.Topic != a.topic || p < 0 || int(p) >= partitions {
				fail("record from unexpected topic/partition %s/%d", r.Topic, p)
			}
			where := fmt.Sprintf("partition %d offset %d", p, o)
			if o != nextOff[p] {
				fail("%s: expected offset %d (offsets must be contiguous from 0 and in order)", where, nextOff[p])
			}
			nextOff[p] = o + 1
			h := r.Headers
			if len(h) != 2 || h[0].Key != "idx" {
				fail("%s: unexpected headers %s", where, fmtHeaders(h))
			}
			i, err := strconv.Atoi(string(h[0].Value))
			if err != nil {
				fail("%s: bad idx header %q", where, h[0].Value)
			}
			if i < 0 || i >= n {
				fail("%s: idx %d out of range", where, i)
			}
			if seen[i] {
				fail("%s: duplicate record idx %d", where, i)
			}
			seen[i] = true
			if h[1].Key != "src" || !bytes.Equal(h[1].Value, src) {
				fail("%s idx %d: header %s, want src=%s", where, i, fmtHeaders(h[1:]), src)
			}
			if want := keyOf(i); !bytes.Equal(r.Key, want) {
				fail("%s idx %d: key %q, want %q", where, i, r.Key, want)
			}
			if want := valueOf(i); !bytes.Equal(r.Value, want) {
				fail("%s idx %d: value %q, want %q", where, i, r.Value, want)
			}
			if ts := r.Timestamp.UnixMilli(); ts != baseTS+int64(i) || r.Attrs.TimestampType() != 0 {
				fail("%s idx %d: timestamp %d (type %d), want %d (CreateTime)", where, i, ts, r.Attrs.TimestampType(), baseTS+int64(i))
			}
			if drPart[i] != p || drOff[i] != o {
				fail("%s idx %d: delivery report said partition %d offset %d", where, i, drPart[i], drOff[i])
			}
			k := i % 1000
			if kp, ok := keyPart[k]; !ok {
				keyPart[k] = p
			} else if kp != p {
				fail("%s: key-%d seen in partition %d and %d", where, k, kp, p)
			}
			count++
		}
	}

	// Exactly N: nothing beyond what was consumed may exist in the log.
	adm := kadm.NewClient(cl)
	lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer lcancel()
	starts, err := adm.ListStartOffsets(lctx, a.topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		fail("list start offsets: %v", err)
	}
	ends, err := adm.ListEndOffsets(lctx, a.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		fail("list end offsets: %v", err)
	}
	for p := 0; p < partitions; p++ {
		lo, ok1 := starts.Lookup(a.topic, int32(p))
		hi, ok2 := ends.Lookup(a.topic, int32(p))
		if !ok1 || !ok2 || lo.Offset != 0 || hi.Offset != nextOff[p] {
			fail("partition %d watermarks low=%d high=%d, consumed offsets 0..%d", p, lo.Offset, hi.Offset, nextOff[p]-1)
		}
	}
	cl.Close()
	return nextOff
}

func fmtHeaders(h []kgo.RecordHeader) string {
	s := make([]string, len(h))
	for i, x := range h {
		s[i] = fmt.Sprintf("%s=%q", x.Key, x.Value)
	}
	return "[" + strings.Join(s, " ") + "]"
}

func run() {
	a := parseArgs()
	t0 := time.Now()
	pcl := newClient(a,
		kgo.ProducerBatchCompression(codec(a.compression)),
		kgo.ProducerLinger(5*time.Millisecond),
	)
	createTopic(pcl, a)
	t1 := time.Now()
	drPart, drOff := produce(pcl, a.topic, a.records, a.recordsPerSecond)
	t2 := time.Now()
	pcl.Close()
	perPart := consumeAndCheck(a, drPart, drOff)
	t3 := time.Now()
	fmt.Fprintf(os.Stderr, "%s: create %.2fs, produce %.2fs, consume+check %.2fs, per partition %v\n",
		client, t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds(), t3.Sub(t2).Seconds(), perPart)
	fmt.Printf("OK %s %s %d records\n", client, a.topic, a.records)
}

func main() {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(failure)
			if !ok {
				panic(r)
			}
			fmt.Fprintf(os.Stderr, "FAIL %s: %s\n", client, f)
			os.Exit(1) // skips deferred Close: never block on a misbehaving broker
		}
	}()
	run()
}
