#!/usr/bin/python3
"""Smoke test of ferry-bench: each mode on a small run, checking the JSON's shape and counts.

Timings are not checked: the machine may be slow or busy. Usage: smoke_test.py FERRY_BENCH
"""
import json
import subprocess
import sys

RECORDS = 20000
LATENCY = {"p50", "p99", "p999", "max"}


def run(bench, *args, expect_code=0):
    cmd = [bench, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=100)
    if proc.returncode != expect_code:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {proc.returncode}, expected {expect_code}\n"
                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def check_latency(obj, where):
    if set(obj) != LATENCY:
        sys.exit(f"FAIL: {where} has keys {sorted(obj)}, expected {sorted(LATENCY)}")
    if not obj["p50"] <= obj["p99"] <= obj["p999"] <= obj["max"]:
        sys.exit(f"FAIL: {where} percentiles out of order: {obj}")


def cfg_tls(doc):
    return doc["config"].get("tls", False)


def check_run(bench, mode, extra):
    proc = run(bench, f"--mode={mode}", f"--records={RECORDS}", "--json", "--quiet",
               "--partitions=3", "--consumers=2", "--batch-records=500", "--fsync=never",
               "--max-seconds=60", *extra)
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    if len(lines) != 1:
        sys.exit(f"FAIL: --mode={mode}: expected one JSON line on stdout, got:\n{proc.stdout}")
    doc = json.loads(lines[0])
    want = {"system", "config", "machine", "client"}
    if mode in ("produce", "both"):
        want |= {"publish"}
    if mode in ("consume", "both"):
        want |= {"consume"}
    if mode == "both":
        want |= {"e2e_latency_us"}
    want |= {"broker"}
    if set(doc) != want:
        sys.exit(f"FAIL: --mode={mode}: top-level keys {sorted(doc)}, expected {sorted(want)}")
    tls = "--tls" in extra
    if doc["system"] != ("ferry-tls" if tls else "ferry") or cfg_tls(doc) != tls:
        sys.exit(f"FAIL: --mode={mode} {extra}: system {doc['system']}, config {doc['config']}")
    cfg = doc["config"]
    for key in ("producers", "consumers", "partitions", "record_size", "records", "rate",
                "batch_records", "fsync"):
        if key not in cfg:
            sys.exit(f"FAIL: --mode={mode}: config lacks {key}: {cfg}")
    if cfg["records"] != RECORDS or cfg["partitions"] != 3 or cfg["fsync"] != "never":
        sys.exit(f"FAIL: --mode={mode}: config {cfg}")
    if not (doc["machine"]["cores"] >= 1 and isinstance(doc["machine"]["model"], str)):
        sys.exit(f"FAIL: machine {doc['machine']}")
    for section in ("publish", "consume"):
        if section not in doc:
            continue
        s = doc[section]
        for key in ("records", "seconds", "records_per_sec", "mb_per_sec"):
            if key not in s:
                sys.exit(f"FAIL: --mode={mode}: {section} lacks {key}: {s}")
        if s["records"] != RECORDS:
            sys.exit(f"FAIL: --mode={mode}: {section}.records = {s['records']}, expected {RECORDS}")
    if "publish" in doc:
        check_latency(doc["publish"]["ack_latency_us"], "publish.ack_latency_us")
    if "e2e_latency_us" in doc:
        check_latency(doc["e2e_latency_us"], "e2e_latency_us")
    if set(doc["broker"]) != {"cpu_seconds", "peak_rss_mb"} or doc["broker"]["peak_rss_mb"] <= 0:
        sys.exit(f"FAIL: broker {doc['broker']}")
    if set(doc["client"]) != {"cpu_seconds"}:
        sys.exit(f"FAIL: client {doc['client']}")
    print(f"ok: --mode={mode} {' '.join(extra)}")


def main():
    bench = sys.argv[1]
    help_text = run(bench, "--help").stdout
    for flag in ("--mode", "--records", "--rate", "--json", "--target", "--fsync", "--tls"):
        if flag not in help_text:
            sys.exit(f"FAIL: --help does not document {flag}")
    for bad in (["--records=-1"], ["--mode=sideways"], ["--bogus"], ["--record-size=abc"],
                ["--target=10.0.0.1:9092"], ["--records=5", "--duration=3"],
                ["--tls", "--target=127.0.0.1:1"]):
        proc = run(bench, *bad, expect_code=2)
        if not proc.stderr.strip():
            sys.exit(f"FAIL: {bad} printed no message")
    check_run(bench, "produce", [])
    check_run(bench, "consume", [])
    check_run(bench, "consume", ["--consumer-client=raw"])
    check_run(bench, "both", ["--rate=20000", "--keys=100"])
    # Every connection over TLS, to a broker with a certificate made for the run.
    check_run(bench, "both", ["--tls"])
    print("PASS")


if __name__ == "__main__":
    main()
