#!/usr/bin/python3
"""Turns the JSON of one bench/run.sh run into the markdown tables of docs/performance.md.

usage: render_table.py <results dir> [--dat <dir>]

Reads <system>-produce-<run>.json, <system>-consume-<run>.json and
<system>-both-<rate>-<run>.json (ferry-bench's schema, also written by nats-bench and
redis-bench); with several runs each figure is the median. Prints markdown on stdout; with
--dat, also writes the gnuplot data for bench/peers/charts.gp (throughput.dat, latency-*.dat).
"""
import argparse
import glob
import json
import os
import re
import statistics
import sys

SYSTEMS = [  # order of the rows; name in the JSON, label, durability as configured
    ("ferry", "Ferry", "fsync before ack (`--fsync=always`, group commit)"),
    ("ferry-tls", "Ferry over TLS", "as Ferry; gRPC over TLS (`ferry-bench --tls`)"),
    ("nats-jetstream", "NATS JetStream 2.9", "file store, acked before fsync (page cache)"),
    ("redis-streams", "Redis Streams 7.0", "AOF, fsync once a second (`appendfsync everysec`)"),
]
FILE_PREFIX = {"ferry": "ferry", "ferry-tls": "ferry-tls", "nats-jetstream": "nats", "redis-streams": "redis"}
TABLE_RATE = 200000


def load(results):
    """{system: {"produce": [json], "consume": [json], "both": {rate: [json]}}}"""
    runs = {}
    for path in sorted(glob.glob(os.path.join(results, "*.json"))):
        m = re.match(r"(ferry-tls|ferry|nats|redis)-(produce|consume|both)-(?:(\d+)-)?(\d+)\.json$",
                     os.path.basename(path))
        if not m:
            continue
        with open(path) as f:
            try:
                r = json.load(f)
            except json.JSONDecodeError as e:
                sys.exit(f"render_table: {path} is not JSON ({e}); did that run fail?")
        s = runs.setdefault(r["system"], {"produce": [], "consume": [], "both": {}})
        if m.group(2) == "both":
            s["both"].setdefault(int(m.group(3)), []).append(r)
        else:
            s[m.group(2)].append(r)
    return runs


def median(rs, *path):
    vals = []
    for r in rs:
        v = r
        for k in path:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            vals.append(v)
    return statistics.median(vals) if vals else None


def achieved(r):
    """Records/s the producer actually published in an open-loop run."""
    p = r["publish"]
    return p["records"] / p["seconds"] if p.get("seconds") else 0


def sustained(rs, rate):
    """True when most runs published everything offered at 90% of the offered rate or more
    (publish seconds include the wait for the last acks, hence not 100%)."""
    ok = [r["publish"]["records"] >= r["config"]["records"] and achieved(r) >= 0.9 * rate
          for r in rs]
    return sum(ok) * 2 > len(ok)


def fmt_rate(v):
    return "—" if v is None else f"{v / 1000:,.0f}k"


def fmt_ms(us):
    if us is None:
        return "—"
    return f"{us / 1000:.1f}" if us < 100000 else f"{us / 1000:,.0f}"


def latency_cell(rs, rate):
    if not rs:
        return "—"
    p50, p99 = median(rs, "e2e_latency_us", "p50"), median(rs, "e2e_latency_us", "p99")
    cell = f"{fmt_ms(p50)} / {fmt_ms(p99)}"
    if not sustained(rs, rate):
        got = statistics.median(achieved(r) for r in rs)
        cell += f" (saturated: {got / 1000:,.0f}k/s)"
    return cell


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--dat", help="also write gnuplot data files into this directory")
    args = ap.parse_args()
    runs = load(args.results)
    if not runs:
        sys.exit(f"render_table: no results in {args.results}")

    any_run = next(r for s in runs.values() for r in s["produce"] + s["consume"])
    machine = any_run["machine"]
    nruns = max(len(s["produce"]) for s in runs.values())
    cfg = any_run["config"]
    out = []
    out.append(f"Machine: {machine['cores']} cores, {machine['model']}. "
               f"{cfg['records']:,} records of {cfg['record_size']} B, one producer, one group "
               f"consumer{'; medians of ' + str(nruns) + ' runs' if nruns > 1 else ''}.")
    out.append("")

    ferry = runs.get("ferry")
    fp = median(ferry["produce"], "publish", "records_per_sec") if ferry else None
    fc = median(ferry["consume"], "consume", "records_per_sec") if ferry else None
    out.append(f"| system | durability | publish rec/s | consume rec/s "
               f"| e2e p50 / p99 ms at {TABLE_RATE // 1000}k/s | Ferry ÷ system (publish, consume) |")
    out.append("|---|---|--:|--:|--:|--:|")
    for name, label, durability in SYSTEMS:
        s = runs.get(name)
        if not s:
            continue
        pub = median(s["produce"], "publish", "records_per_sec")
        con = median(s["consume"], "consume", "records_per_sec")
        lat = latency_cell(s["both"].get(TABLE_RATE, []), TABLE_RATE)
        if name == "ferry":
            ratio = "1.00×, 1.00×"
        elif fp and fc and pub and con:
            ratio = f"{fp / pub:.2f}×, {fc / con:.2f}×"
        else:
            ratio = "— (no Ferry run)"
        out.append(f"| {label} | {durability} | {fmt_rate(pub)} | {fmt_rate(con)} | {lat} | {ratio} |")
    out.append("")

    rates = sorted({rate for s in runs.values() for rate in s["both"]})
    if rates:
        out.append("End-to-end latency, p50 / p99 in ms, against offered load (records/s):")
        out.append("")
        out.append("| system | " + " | ".join(f"{r // 1000}k/s" for r in rates) + " |")
        out.append("|---|" + "--:|" * len(rates))
        for name, label, _ in SYSTEMS:
            s = runs.get(name)
            if s:
                out.append(f"| {label} | " +
                           " | ".join(latency_cell(s["both"].get(r, []), r) for r in rates) + " |")
        out.append("")

    out.append("| system | broker CPU s (produce) | broker peak RSS MB (produce) | client CPU s (produce) |")
    out.append("|---|--:|--:|--:|")
    for name, label, _ in SYSTEMS:
        s = runs.get(name)
        if s:
            c = median(s["produce"], "broker", "cpu_seconds")
            m = median(s["produce"], "broker", "peak_rss_mb")
            k = median(s["produce"], "client", "cpu_seconds")
            f2 = lambda v, d: "—" if v is None else f"{v:.{d}f}"
            out.append(f"| {label} | {f2(c, 2)} | {f2(m, 0)} | {f2(k, 2)} |")
    print("\n".join(out))

    if args.dat:
        with open(os.path.join(args.dat, "throughput.dat"), "w") as f:
            f.write("# system publish_rec_per_s consume_rec_per_s\n")
            for name, label, _ in SYSTEMS:
                s = runs.get(name)
                if s:
                    pub = median(s["produce"], "publish", "records_per_sec") or 0
                    con = median(s["consume"], "consume", "records_per_sec") or 0
                    f.write(f'"{label}" {pub:.0f} {con:.0f}\n')
        for name, label, _ in SYSTEMS:
            s = runs.get(name)
            path = os.path.join(args.dat, f"latency-{FILE_PREFIX[name]}.dat")
            with open(path, "w") as f:
                f.write(f"# {label}: offered_rec_per_s p50_ms p99_ms p999_ms\n")
                for rate in sorted(s["both"]) if s else []:
                    rs = s["both"][rate]
                    f.write(f"{rate} {median(rs, 'e2e_latency_us', 'p50') / 1000:.3f} "
                            f"{median(rs, 'e2e_latency_us', 'p99') / 1000:.3f} "
                            f"{median(rs, 'e2e_latency_us', 'p999') / 1000:.3f}\n")


if __name__ == "__main__":
    main()
