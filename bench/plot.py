#!/usr/bin/env python3
"""Latency percentiles per scenario and concurrency, and submit → intake per delivery run, from results.json, as a PNG.

Run by the bench driver with Debian's python3 and python3-matplotlib (installed by `make bench`):
    /usr/bin/python3 bench/plot.py bench/results/results.json bench/results/latency.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {
    "echo:h2load": "echo\n(h2load)",
    "explain:h2load": "ExplainRoute\n(h2load)",
    "explain-quiet-logs:h2load": "ExplainRoute\nquiet logs\n(h2load)",
    "route-durable-replay:h2load": "RouteCase\nreplay, Redis\n(h2load)",
    "echo:dotnet": "echo\n(.NET)",
    "explain:dotnet": "ExplainRoute\n(.NET)",
    "route-embedded:dotnet": "RouteCase\nembedded\n(.NET)",
    "route-durable:dotnet": "RouteCase\ndurable Redis\n(.NET)",
    "route-durable-single-node:dotnet": "RouteCase\nsingle node\n(cluster phase)",
    "route-durable-cluster-acks0:dotnet": "RouteCase\ncluster, acks 0\n(.NET)",
    "route-durable-cluster-acks1:dotnet": "RouteCase\ncluster, acks 1\n(.NET)",
}
PERCENTILES = [("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99"), ("p999_ms", "p99.9")]


def main(source, target):
    with open(source, encoding="utf-8") as f:
        results = json.load(f)
    series = results["series"]
    concurrencies = sorted({s["concurrency"] for s in series})
    order = [name for name in LABELS if any(s["series"] == name for s in series)]
    delivery = results.get("delivery") or []
    rows = len(concurrencies) + (1 if delivery else 0)
    fig, axes = plt.subplots(rows, 1, figsize=(13, 4.2 * rows), squeeze=False)
    width = 0.8 / len(PERCENTILES)
    for row, concurrency in enumerate(concurrencies):
        ax = axes[row][0]
        names = [n for n in order if any(s["series"] == n and s["concurrency"] == concurrency for s in series)]
        for i, (key, label) in enumerate(PERCENTILES):
            values = []
            for name in names:
                match = next(s for s in series if s["series"] == name and s["concurrency"] == concurrency)
                values.append(max(match[key], 0.001))
            positions = [x + (i - (len(PERCENTILES) - 1) / 2) * width for x in range(len(names))]
            ax.bar(positions, values, width, label=label)
        ax.set_yscale("log")
        ax.set_ylabel("latency, ms (log)")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([LABELS[n] for n in names], fontsize=8)
        ax.set_title(f"{concurrency} call(s) in flight — medians over repetitions", fontsize=10)
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=8, ncol=4, loc="upper left")
    if delivery:
        ax = axes[-1][0]
        keys = [("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p999", "p99.9")]
        for i, (key, label) in enumerate(keys):
            values = [max(d["submit_to_intake_ms"][key], 0.001) for d in delivery]
            positions = [x + (i - (len(keys) - 1) / 2) * width for x in range(len(delivery))]
            ax.bar(positions, values, width, label=label)
        ax.axhline(1000, color="grey", linestyle="--", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_ylabel("submit → intake, ms (log)")
        ax.set_xticks(range(len(delivery)))
        ax.set_xticklabels(
            [
                f"{d['server']}\n{d['label']}{', flaky intake' if d.get('flaky') else ''}:\n{d['accepted_per_second']:.0f} accepted/s, "
                f"{d['delivered_per_second_during_load']:.0f} delivered/s ({d['delivered_to_accepted']:.2f})"
                + ("\n(lower bounds: cases left undelivered)" if d["latency_is_lower_bound"] else "")
                for d in delivery
            ],
            fontsize=8,
        )
        ax.set_title(
            f"delivery: RouteCase to the first arrival at an external intake, {delivery[0]['concurrency']} calls in flight"
            " (dashed: the 1 s p99 target of the reliable intake)",
            fontsize=10,
        )
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=8, ncol=4, loc="upper left")
    machine = results["machine"]
    fig.suptitle(
        f"Tokutei.Routing latency per scenario — {results['generated']}, {machine['cpu']}, {machine['cores']} cores, `{results['command']}`",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: plot.py results.json latency.png")
    main(sys.argv[1], sys.argv[2])
