"""Bookkeeping for perf/compare.sh (standard library only).

  report.py annotate RUN.json CPU0 CPU1 T0 T1 RSS_MAX_KIB RSS_PEAK_KIB
      adds the broker's CPU seconds, wall time and RSS around one bench run to its JSON
  report.py half-rate RUN.json
      prints 50% of that run's produce records/s (the fixed-rate runs' target)
  report.py assemble WORKDIR RESULT.json KEY=VALUE...
      gathers every run under WORKDIR/runs into RESULT.json with the settings, limits and goals, and prints
      a table
"""
import glob
import json
import os
import platform
import re
import sys
from datetime import datetime, timezone


def load(path):
    with open(path) as f:
        return json.load(f)


def annotate(path, cpu0, cpu1, t0, t1, rss_max_kib, rss_peak_kib):
    run = load(path)
    wall_s = float(t1) - float(t0)
    cpu_s = float(cpu1) - float(cpu0)
    run["broker"] = {
        "cpu_s": round(cpu_s, 2),
        "wall_s": round(wall_s, 2),
        # Average cores busy serving this run (the machine has os.cpu_count() of them).
        "cpu_cores_avg": round(cpu_s / wall_s, 2) if wall_s > 0 else 0,
        "rss_max_kib": int(rss_max_kib or 0),
        "rss_peak_since_start_kib": int(rss_peak_kib or 0),
    }
    with open(path, "w") as f:
        json.dump(run, f, indent=2)


def half_rate(path):
    print(int(load(path)["produce"]["rate"]["records_per_s"] / 2) or 1)


def summary(run):
    """The figures a table shows, from one annotated bench run."""
    p, c, e2e = run["produce"], run["consume"], run["end_to_end_latency_ms"]
    broker = run.get("broker", {})
    return {
        "produce_mb_per_s": p["rate"]["mb_per_s"],
        "produce_records_per_s": p["rate"]["records_per_s"],
        "consume_mb_per_s": c["rate"]["mb_per_s"],
        "consume_records_per_s": c["rate"]["records_per_s"],
        "records_sent": p["records_sent"],
        "records_acked": p["records_acked"],
        "records_failed": p["records_failed"],
        "records_consumed": c["records"],
        "e2e_latency_ms": e2e,
        "ack_latency_ms": p["ack_latency_ms"],
        "broker_cpu_s": broker.get("cpu_s"),
        "broker_cpu_cores_avg": broker.get("cpu_cores_avg"),
        "broker_rss_max_mib": round(broker.get("rss_max_kib", 0) / 1024, 1),
        # What the broker does with the CPU it gets (the load generator shares the machine).
        "produce_mb_per_s_per_broker_core": (
            round(p["rate"]["mb_per_s"] / broker["cpu_cores_avg"], 1) if broker.get("cpu_cores_avg") else None
        ),
    }


PERF_LINE = re.compile(
    r"(?P<records>\d+) records sent, (?P<rps>[\d.]+) records/sec \((?P<mbps>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency, (?P<p50>\d+) ms 50th, "
    r"(?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th, (?P<p999>\d+) ms 99.9th"
)


def producer_performance(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        line = f.read().strip()
    m = PERF_LINE.search(line)
    if not m:
        return {"unparsed": line}
    g = m.groupdict()
    return {
        "records": int(g["records"]),
        "records_per_s": float(g["rps"]),
        "mb_per_s": float(g["mbps"]),
        "latency_ms": {k: float(g[k]) for k in ("avg", "p50", "p95", "p99", "p999", "max")},
    }


# The catch-up reads: plaintext, then user-space TLS (both brokers), then kTLS (shardlog, where offered).
CATCHUP_READS = {"read": "catchup-read", "read_tls": "catchup-read-tls", "read_ktls": "catchup-read-ktls"}


def catchup_runs(work, broker_runs, broker):
    out = {"write": summary(broker_runs["catchup-write"])}
    for key, name in CATCHUP_READS.items():
        if name in broker_runs:
            out[key] = summary(broker_runs[name])
            # shardlog's own count of TLS connections by path during that read (its metrics).
            paths = os.path.join(work, "runs", broker, f"tls-paths-{name}.txt")
            if os.path.exists(paths):
                with open(paths) as f:
                    out[key]["tls_connections_by_path"] = f.read().strip()
    plain = out["read"]["consume_mb_per_s"]
    out["tls_vs_plaintext"] = {k: ratio(out[k]["consume_mb_per_s"], plain) for k in ("read_tls", "read_ktls") if k in out}
    return out


def machine():
    model = ""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    with open("/proc/meminfo") as f:
        mem_kib = int(next(l.split()[1] for l in f if l.startswith("MemTotal")))
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kib / 1048576, 1),
        "kernel": platform.release(),
        # A VM that hands freed pages back to its host makes first writes into the page cache slow for
        # every broker (perf/README.md, "Where the time goes").
        "free_page_reporting": free_page_reporting(),
    }


def free_page_reporting():
    """Whether a virtio balloon offers free page reporting (feature bit 5, VIRTIO_BALLOON_F_REPORTING)."""
    for features in glob.glob("/sys/bus/virtio/drivers/virtio_balloon/virtio*/features"):
        with open(features) as f:
            bits = f.read().strip()
        if len(bits) > 5 and bits[5] == "1":
            return True
    return False


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def goals(workloads, catchup, limits):
    """The issue's targets, each with the measured value and whether it is met."""
    by = {w["name"]: w for w in workloads}
    out = []

    def goal(what, value, target, met):
        if value is None:  # not measured by this run (e.g. --catchup-only)
            return
        out.append({"goal": what, "measured": value, "target": target, "met": bool(value is not None and met)})

    def produce_ratio(name):
        w = by.get(name)
        if not w:
            return None
        return ratio(w["max"].get("shardlog", {}).get("produce_mb_per_s"), w["max"]["kafka"]["produce_mb_per_s"])

    r = produce_ratio("p16-acks1-none")
    goal("produce MB/s vs Kafka, acks=1, 16 partitions", r, ">= 2", r is not None and r >= 2)
    r = produce_ratio("p16-acksall-none")
    goal("produce MB/s vs Kafka, acks=all (fsync per batch on both), 16 partitions", r, ">= 3", r is not None and r >= 3)
    w = by.get("p16-acks1-none")
    if w and "shardlog" in w.get("fixed_rate", {}):
        r = ratio(w["fixed_rate"]["shardlog"]["e2e_latency_ms"]["p99"], w["fixed_rate"]["kafka"]["e2e_latency_ms"]["p99"])
        goal("p99 end-to-end latency vs Kafka at 50% of Kafka's max (acks=1, 16 partitions)", r, "<= 0.2", r is not None and r <= 0.2)
    if catchup.get("kafka") and catchup.get("shardlog"):
        r = ratio(catchup["shardlog"]["read"]["consume_mb_per_s"], catchup["kafka"]["read"]["consume_mb_per_s"])
        goal("catch-up consume MB/s vs Kafka", r, ">= 2", r is not None and r >= 2)
    rss = {b: max((w["max"][b]["broker_rss_max_mib"] for w in workloads if b in w["max"]), default=None)
           for b in ("kafka", "shardlog")}
    r = ratio(rss.get("shardlog"), rss.get("kafka"))
    goal("peak broker RSS vs Kafka", r, "<= 0.2", r is not None and r <= 0.2)
    if w and "shardlog" in w["max"] and limits.get("loopback_tcp_mb_per_s"):
        r = ratio(w["max"]["shardlog"]["produce_mb_per_s"], limits["loopback_tcp_mb_per_s"])
        goal("shardlog produce MB/s as a fraction of loopback TCP (acks=1, 16 partitions)", r, ">= 0.7", r is not None and r >= 0.7)
    return out


def assemble(work, result_path, *settings):
    settings = dict(s.split("=", 1) for s in settings)
    runs = {}
    for broker in sorted(os.listdir(os.path.join(work, "runs"))):
        d = os.path.join(work, "runs", broker)
        runs[broker] = {f[:-5]: load(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith(".json")}
    workloads = []
    for name in sorted(n[4:] for n in runs.get("kafka", {}) if n.startswith("max-")):
        sample = runs["kafka"]["max-" + name]["settings"]
        w = {
            "name": name,
            "partitions": sample["partitions"],
            "acks": "all" if sample["acks"] == -1 else sample["acks"],
            "compression": sample["compression"],
            "max": {b: summary(runs[b]["max-" + name]) for b in ("kafka", "shardlog") if "max-" + name in runs.get(b, {})},
        }
        rate_runs = {b: runs[b]["rate-" + name] for b in ("kafka", "shardlog") if "rate-" + name in runs.get(b, {})}
        if rate_runs:
            w["fixed_rate"] = {"records_per_s": next(iter(rate_runs.values()))["settings"]["rate"]}
            w["fixed_rate"].update({b: summary(r) for b, r in rate_runs.items()})
        workloads.append(w)
    catchup = {b: catchup_runs(work, runs[b], b) for b in ("kafka", "shardlog") if "catchup-read" in runs.get(b, {})}
    limits = load(os.path.join(work, "limits.json"))
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "bash perf/compare.sh" + (" --smoke" if settings.get("smoke") == "1" else "")
                   + (" --catchup-only" if settings.get("catchup_only") == "1" else ""),
        "machine": machine(),
        "settings": settings,
        "fairness": {
            "client": "the same load generator (`shardlog bench`) for both brokers, one producer thread and one "
                      "consumer thread, 1 KiB records, batch.size 131072, linger.ms 5, max.in.flight 5, "
                      "buffer 32 MiB; consumers assign partitions statically (no consumer group)",
            "durability": "acks=all runs fsync every acknowledged batch on both: Kafka topic config "
                          "flush.messages=1, shardlog --flush-policy acks-all (its default: group-committed "
                          "fdatasync before answering acks=all). acks=1 runs: no fsync on the produce path on "
                          "either (Kafka default flush settings; shardlog flushes acks=1 data in the background "
                          "every 1 s)",
            "kafka": "Apache Kafka 4.4.0 from Maven Central, KRaft combined broker+controller, JVM heap "
                     + settings.get("kafka_heap", "") + ", G1, default broker settings otherwise",
            "shardlog": settings.get("shardlog_shards", "?") + " shards (one per core), default settings",
            "partitions_and_compression": "per workload, identical on both brokers",
            "fixed_rate": "50% of Kafka's measured max records/s for the same workload, the same rate on both",
            "page_cache": "warm: catch-up reads data written just before, which fits in memory; the machine "
                          "is shared by broker and load generator (2 cores)",
            "tls": "each broker has one SSL listener with the same RSA-2048 server certificate (PEM keystore); the "
                   "client is the same `shardlog bench` consumer (rustls) over TLS 1.3 with the suite the server "
                   "picks; shardlog's user-space TLS run has kTLS off, as Kafka's JVM TLS is in user space; its "
                   "kTLS run (only where the kernel offers kTLS) restarts it with --ssl-ktls-enable true",
            "order": "Kafka first (its max sets the fixed rates), then shardlog; each broker alone on the machine",
        },
        "limits": limits,
        "loadgen_ceiling": {k.replace("null-broker-", ""): summary(v) for k, v in runs.get("loadgen", {}).items()},
        "workloads": workloads,
        "catchup": catchup,
        "producer_performance": {
            b: producer_performance(os.path.join(work, "runs", b, "producer-performance.txt"))
            for b in ("kafka", "shardlog")
        },
        "runs": runs,
    }
    result["goals"] = goals(workloads, catchup, limits)
    with open(result_path, "w") as f:
        json.dump(result, f, indent=2)
    print_table(result)


def print_table(r):
    def row(label, k, s):
        print(f"{label:<44} {k!s:>12} {s!s:>12}")

    print()
    row("", "kafka", "shardlog")
    for w in r["workloads"]:
        m = w["max"]
        row(f"max produce MB/s  {w['name']}", m["kafka"]["produce_mb_per_s"], m.get("shardlog", {}).get("produce_mb_per_s"))
    for w in r["workloads"]:
        m = w["max"]
        row(f"MB/s per broker core  {w['name']}", m["kafka"]["produce_mb_per_s_per_broker_core"],
            m.get("shardlog", {}).get("produce_mb_per_s_per_broker_core"))
    for w in r["workloads"]:
        f = w.get("fixed_rate")
        if f:
            row(f"p99 e2e ms @{int(f['records_per_s'])}/s {w['name']}", f["kafka"]["e2e_latency_ms"]["p99"],
                f.get("shardlog", {}).get("e2e_latency_ms", {}).get("p99"))
    c = r["catchup"]
    labels = {"read": "catch-up read MB/s", "read_tls": "catch-up read MB/s, TLS (user space)",
              "read_ktls": "catch-up read MB/s, kTLS"}
    for key, label in labels.items() if c else ():
        row(label, c["kafka"].get(key, {}).get("consume_mb_per_s"), c.get("shardlog", {}).get(key, {}).get("consume_mb_per_s"))
    pp = r["producer_performance"]
    row("ProducerPerformance MB/s (16 p, acks=1)", (pp.get("kafka") or {}).get("mb_per_s"), (pp.get("shardlog") or {}).get("mb_per_s"))
    for g in r["goals"]:
        print(f"goal: {g['goal']}: {g['measured']} (target {g['target']}) {'met' if g['met'] else 'NOT met'}")


if __name__ == "__main__":
    commands = {"annotate": annotate, "half-rate": half_rate, "assemble": assemble}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
