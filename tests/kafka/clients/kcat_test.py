#!/usr/bin/python3
"""kcat (librdkafka) against Ferry's Kafka listener.

- `kcat -P -K:` produces keyed lines (librdkafka's murmur2 partitioner, as Java's); each key
  must land where Kafka's murmur2 puts it, as Ferry stores it.
- `kcat -G GROUP TOPIC -e` consumes them as a balanced consumer group member: every record once,
  and the group's committed offsets reach the end (ferryctl group describe).
- `kcat -C -p N -o beginning -e` reads one partition directly.
- `kcat -L` and `kcat -L -J`: the broker, the topic, its partitions and leaders.
"""

import json
import subprocess

from kafka.partitioner.default import murmur2

from kafka_test_lib import KAFKA_BOOTSTRAP, TestFailure, check, ferryctl, main

TOPIC = "kcat-topic"
GROUP = "kcat-group"
COUNT = 30
PARTITIONS = 3


def kcat(*args, input=None, timeout=60):
    proc = subprocess.run(["kcat", "-b", KAFKA_BOOTSTRAP, *args], input=input,
                          capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise TestFailure(f"kcat {' '.join(args)} exited {proc.returncode}: "
                             f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode()


def test():
    ferryctl("topic", "create", TOPIC, "-p", str(PARTITIONS))
    expected = {f"key-{i}": f"value {i}" for i in range(COUNT)}
    lines = "".join(f"{k}:{v}\n" for k, v in expected.items())
    kcat("-P", "-t", TOPIC, "-K:", "-X", "partitioner=murmur2_random", input=lines.encode())

    # Ferry stored every record once, on murmur2's partition.
    stored = ferryctl("consume", TOPIC, "-e", "-f", r"%p %k %v\n")
    stored = [line.split(" ", 2) for line in stored.splitlines() if line]
    check(sorted((k, v) for _, k, v in stored) == sorted(expected.items()),
          f"Ferry stores {stored}, kcat produced {sorted(expected.items())}")
    for partition, key, _ in stored:
        want = (murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS
        check(int(partition) == want,
              f"kcat's {key} is on partition {partition}, murmur2 says {want}")

    # Metadata, human-readable and JSON.
    listing = kcat("-L", "-t", TOPIC)
    print(listing)
    check(f'topic "{TOPIC}" with {PARTITIONS} partitions' in listing,
          f"kcat -L does not show {TOPIC} with {PARTITIONS} partitions:\n{listing}")
    meta = json.loads(kcat("-L", "-J"))
    host, port = KAFKA_BOOTSTRAP.split(":")
    brokers = meta.get("brokers", [])
    check(len(brokers) == 1 and brokers[0].get("name") == f"{host}:{port}",
          f"kcat -L -J brokers are {brokers}, expected one at {KAFKA_BOOTSTRAP}")
    broker_id = brokers[0]["id"]
    topics = {t["topic"]: t for t in meta.get("topics", [])}
    check(TOPIC in topics, f"kcat -L -J lists topics {sorted(topics)}, not {TOPIC}")
    parts = topics[TOPIC].get("partitions", [])
    check(sorted(p["partition"] for p in parts) == list(range(PARTITIONS)),
          f"kcat -L -J partitions of {TOPIC}: {parts}")
    for p in parts:
        check(p.get("leader") == broker_id and "error" not in p,
              f"partition {p['partition']} of {TOPIC}: {p}, expected leader {broker_id}")

    # One partition directly.
    p0 = kcat("-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-e", "-f", r"%k:%s:%o\n")
    direct = [line.split(":") for line in p0.splitlines() if line]
    want_p0 = sorted(k for p, k, _ in stored if p == "0")
    check(sorted(k for k, _, _ in direct) == want_p0,
          f"kcat -C -p 0 read keys {direct}, Ferry's partition 0 holds {want_p0}")
    check([int(o) for _, _, o in direct] == list(range(len(direct))),
          f"kcat -C -p 0 offsets are not 0..n-1: {direct}")

    # Balanced consumer group: every record once, offsets committed at close.
    out = kcat("-G", GROUP, TOPIC, "-X", "auto.offset.reset=earliest", "-e",
               "-f", r"%k:%s\n")
    got = sorted(tuple(line.split(":", 1)) for line in out.splitlines() if line)
    check(got == sorted(expected.items()),
          f"kcat -G received {got}, expected {sorted(expected.items())}")
    describe = ferryctl("group", "describe", GROUP)
    print(describe)
    rows = [line.split() for line in describe.splitlines() if line.split()[:1] == [TOPIC]]
    committed = sum(int(r[3]) for r in rows if r[3] != "-")
    lag = sum(int(r[5]) for r in rows if r[5] != "-")
    check(committed == COUNT and lag == 0,
          f"group {GROUP}: committed offsets add up to {committed} (expected {COUNT}), "
          f"lag {lag} (expected 0)")

    # A second run of the group starts at the committed offsets: nothing left to read.
    again = kcat("-G", GROUP, TOPIC, "-X", "auto.offset.reset=earliest", "-e", "-f", r"%k\n")
    check(again.strip() == "", f"the group read again from its committed offsets: {again!r}")


if __name__ == "__main__":
    main(test)
