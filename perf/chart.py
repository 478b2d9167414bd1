"""Draws a compare.sh result: throughput bars per workload, and end-to-end latency percentile curves of the
fixed-rate runs. Usage: chart.py RESULT.json OUT.png (matplotlib: perf/compare.sh installs it into perf/.venv)."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"kafka": "#7f7f7f", "shardlog": "#d62728"}
PERCENTILES = [("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9), ("max", 100)]


def throughput(ax, result):
    names = [w["name"] for w in result["workloads"]]
    labels = names + ["catch-up read"]
    for i, broker in enumerate(("kafka", "shardlog")):
        values = [w["max"].get(broker, {}).get("produce_mb_per_s", 0) for w in result["workloads"]]
        values.append(result["catchup"].get(broker, {}).get("read", {}).get("consume_mb_per_s", 0))
        xs = [x + (i - 0.5) * 0.4 for x in range(len(labels))]
        ax.bar(xs, values, width=0.4, label=broker, color=COLORS[broker])
    limit = result["limits"].get("loopback_tcp_mb_per_s")
    if limit:
        ax.axhline(limit, linestyle=":", color="black", label=f"loopback TCP {limit:.0f} MB/s")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("MB/s (max produce; catch-up: consume)")
    ax.set_title("Throughput, 1 KiB records")
    ax.legend(fontsize=8)


def latency(ax, result):
    styles = ["-", "--", "-.", ":"]
    fixed = [w for w in result["workloads"] if "fixed_rate" in w]
    for j, w in enumerate(fixed):
        for broker in ("kafka", "shardlog"):
            e2e = w["fixed_rate"].get(broker, {}).get("e2e_latency_ms")
            if not e2e or not e2e.get("count"):
                continue
            ax.plot(
                [str(label) for _, label in PERCENTILES],
                [max(e2e[k], 0.001) for k, _ in PERCENTILES],
                linestyle=styles[j % len(styles)],
                marker="o",
                markersize=3,
                color=COLORS[broker],
                label=f"{broker} {w['name']} @{int(w['fixed_rate']['records_per_s'])}/s",
            )
    ax.set_yscale("log")
    ax.set_xlabel("percentile")
    ax.set_ylabel("end-to-end latency, ms (log)")
    ax.set_title("Latency at 50% of Kafka's max rate")
    ax.legend(fontsize=6, ncol=2)


def main(result_path, png_path):
    with open(result_path) as f:
        result = json.load(f)
    fig, axes = plt.subplots(1, 2, figsize=(15, 6))
    throughput(axes[0], result)
    latency(axes[1], result)
    fig.suptitle(f"shardlog vs Apache Kafka — {result['date']} — {result['machine']['cpus']} cores, {result['command']}")
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)


if __name__ == "__main__":
    main(*sys.argv[1:])
