//! Micro-benchmarks of the storage hot paths: batch validation (CRC-32C) on produce, segment appends
//! (what one group-commit write does), offset lookups (what every fetch does first), and admission
//! under a topic `compression.type` (the cost of broker-side recompression).
//! See bench/README.md for how to run them and the numbers we saw.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use shardlog::cluster::topic_config::log_config;
use shardlog::config::BrokerConfig;
use shardlog::storage::admission::Admission;
use shardlog::storage::batch::{self, test_support, validate_record_set, BatchHeader};
use shardlog::storage::index::SegmentIndex;
use shardlog::storage::segment::{PendingBatch, Segment};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The broker's defaults: message.max.bytes, log.index.interval.bytes, log.segment.bytes.
const MAX_BATCH_BYTES: usize = 1_048_588;
const INDEX_INTERVAL: u32 = 4096;
const SEGMENT_BYTES: u64 = 1 << 30;
/// Value size of the records in generated batches: a typical small event.
const VALUE_LEN: usize = 1000;

/// One uncompressed batch of at most `target` bytes, as close as whole `VALUE_LEN`-byte records get.
fn batch_of(target: usize) -> Vec<u8> {
    // 61-byte header, then ~10 bytes of varint framing around each value; trim if the guess overshoots.
    let mut count = ((target - batch::HEADER_LEN) / (VALUE_LEN + 10)).max(1) as i32;
    loop {
        let b = test_support::build_batch_with_values(
            count,
            VALUE_LEN,
            1_700_000_000_000,
            (-1, -1, -1),
        );
        if b.len() <= target || count == 1 {
            return b;
        }
        count -= 1;
    }
}

/// `n` batches of about `batch_bytes` each, back to back, as one produce record set.
fn record_set(n: usize, batch_bytes: usize) -> Bytes {
    let one = batch_of(batch_bytes);
    Bytes::from(one.repeat(n))
}

fn validation(c: &mut Criterion) {
    let mut g = c.benchmark_group("validate_record_set");
    // A producer's default batch.size (16 KiB), a maxed-out batch (~1 MiB, under message.max.bytes), and a
    // 1 MiB request of 64 default-size batches (per-batch overhead on top of the CRC).
    for (name, set) in [
        ("1x16KiB", record_set(1, 16 << 10)),
        ("1x1MiB", record_set(1, 1 << 20)),
        ("64x16KiB", record_set(64, 16 << 10)),
    ] {
        g.throughput(Throughput::Bytes(set.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &set, |b, set| {
            b.iter(|| validate_record_set(black_box(set), MAX_BATCH_BYTES).unwrap())
        });
    }
    g.finish();
}

/// A directory under the system temp dir, removed on drop (no tempfile dependency for one helper).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("shardlog-bench-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create bench temp dir");
        TempDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The pending writes for `batches`, with offsets assigned from `next_offset` on, exactly as
/// `PartitionLog::append` queues them (patched header + untouched rest, sliced from the request).
fn pending(batches: &[Bytes], next_offset: &mut i64) -> Vec<PendingBatch> {
    batches
        .iter()
        .map(|b| {
            let mut header = BatchHeader::parse(b).unwrap();
            header.base_offset = *next_offset;
            *next_offset = header.last_offset() + 1;
            header.leader_epoch = 0;
            PendingBatch::new(b, header)
        })
        .collect()
}

/// Splits a record set into its batches (all the same size here).
fn split(set: &Bytes) -> Vec<Bytes> {
    validate_record_set(set, MAX_BATCH_BYTES)
        .unwrap()
        .into_iter()
        .map(|v| v.bytes)
        .collect()
}

fn segment_append(c: &mut Criterion) {
    let mut g = c.benchmark_group("segment_append");
    // One group-commit write of: a lone default batch, 1 MiB of default batches (one pwritev), and 1 MiB
    // of small 1 KiB batches (1024 batches: two pwritevs of 1024 iovecs each).
    for (name, n, batch_bytes) in [
        ("1x16KiB", 1, 16 << 10),
        ("64x16KiB", 64, 16 << 10),
        ("1024x1KiB", 1024, 1 << 10),
    ] {
        let batches = split(&record_set(n, batch_bytes));
        let bytes: usize = batches.iter().map(Bytes::len).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function(name, |b| {
            let dir = TempDir::new("append");
            let mut seg = Segment::create(dir.path(), 0).unwrap();
            let mut next_offset = 0;
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    // Keep the file (and the page cache it dirties) bounded: start over past 256 MiB,
                    // untimed. A real segment would roll at SEGMENT_BYTES instead.
                    if seg.size >= 256 << 20 {
                        seg.file.set_len(0).unwrap();
                        seg.size = 0;
                        seg.index = SegmentIndex::default();
                        seg.next_offset = 0;
                        next_offset = 0;
                    }
                    let writes = pending(&batches, &mut next_offset);
                    let start = Instant::now();
                    seg.append(black_box(&writes), INDEX_INTERVAL).unwrap();
                    elapsed += start.elapsed();
                }
                elapsed
            });
        });
    }
    g.finish();
}

/// Pseudo-random lookup targets in `0..bound` (fixed seed, so runs compare), cycled through by the
/// lookup benches so that neither the branch predictor nor the cache sees one repeated key.
fn targets(bound: u64) -> Vec<u64> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % bound
        })
        .collect()
}

fn index_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("index_lookup");

    // A full 1 GiB segment of 4 KiB batches (4 records each) at the default 4 KiB interval: one entry
    // per batch, 262,144 entries (2 MiB of entries, more than L2).
    let mut idx = SegmentIndex::default();
    let batches = SEGMENT_BYTES / 4096;
    for i in 0..batches as u32 {
        idx.on_append(INDEX_INTERVAL, i * 4, i * 4096, 4096, i64::from(i));
    }
    assert_eq!(idx.entries() as u64, batches);
    let keys: Vec<u32> = targets(batches * 4).into_iter().map(|k| k as u32).collect();
    let mut i = 0;
    g.bench_function("floor_position/262144_entries", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            idx.floor_position(black_box(keys[i]))
        })
    });

    // End to end on a real file: index floor + pread of batch headers until the target. With 16 KiB
    // batches every batch is indexed (one header read); with 1 KiB batches an entry covers ~4 batches,
    // so the scan reads 1-4 headers.
    for (name, batch_bytes, file_bytes) in [
        ("position_of/16KiB_batches_256MiB", 16 << 10, 256 << 20),
        ("position_of/1KiB_batches_64MiB", 1 << 10, 64 << 20),
    ] {
        let dir = TempDir::new("lookup");
        let mut seg = Segment::create(dir.path(), 0).unwrap();
        let per_write = split(&record_set(512, batch_bytes));
        let mut next_offset = 0;
        while (seg.size as usize) < file_bytes {
            seg.append(&pending(&per_write, &mut next_offset), INDEX_INTERVAL)
                .unwrap();
        }
        let keys = targets(next_offset as u64);
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                seg.position_of(black_box(keys[i] as i64)).unwrap().unwrap()
            })
        });
    }
    g.finish();
}

/// `Admission::admit` of one producer-default 16 KiB batch on topics whose `compression.type` asks
/// for nothing (`producer`: the stored-as-received path), or for zstd when the batch arrives
/// uncompressed (Java's default) or lz4 (librdkafka's usual choice): decode, re-encode, re-validate.
fn admission(c: &mut Criterion) {
    let broker = BrokerConfig::defaults();
    let topic = |codec: &str| log_config(&broker, &[("compression.type".into(), codec.into())]);
    let (producer, lz4, zstd) = (topic("producer"), topic("lz4"), topic("zstd"));
    let now = 1_700_000_000_000;
    let set = record_set(1, 16 << 10);
    let uncompressed = validate_record_set(&set, MAX_BATCH_BYTES).unwrap();
    let lz4_batches = Admission::new(&lz4, now, "bench", 0)
        .admit(uncompressed.clone())
        .unwrap();
    let mut g = c.benchmark_group("admission");
    g.throughput(Throughput::Bytes(set.len() as u64));
    for (name, config, input) in [
        ("producer_passthrough_16KiB", &producer, &uncompressed),
        ("uncompressed_to_zstd_16KiB", &zstd, &uncompressed),
        ("lz4_to_zstd_16KiB", &zstd, &lz4_batches),
    ] {
        g.bench_function(name, |b| {
            let admission = Admission::new(config, now, "bench", 0);
            b.iter(|| admission.admit(black_box(input.clone())).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, validation, segment_append, index_lookup, admission);
criterion_main!(benches);
