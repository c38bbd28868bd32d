#!/usr/bin/python3
"""A lag monitor as Burrow or kafka-lag-exporter works, with kafka-python against Ferry.

kafka-python produces 30 records to lag-orders (3 partitions); a consumer of group lag-group
(manually assigned, so its commits are standalone) commits positions on each partition. A second
consumer, with no group, reads __consumer_offsets from the beginning: Metadata lists it as an
internal topic of --offsets-topic-partitions (50) partitions, every record of the group is on
the partition Kafka's rule gives (abs(Java String.hashCode(group)) % 50), and each key (version
1: group, topic, partition) and value (version 3: offset, leader epoch, metadata, commit
timestamp) is parsed in Kafka's format. The lag computed from it (end offset - committed) must
equal `ferryctl group describe` exactly, before and after a second commit supersedes the first.
"""

import struct
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from kafka_test_lib import KAFKA_BOOTSTRAP, check, ferryctl, main

TOPIC = "lag-orders"
GROUP = "lag-group"
OFFSETS_TOPIC = "__consumer_offsets"
PARTITIONS = 50


def java_hash(s):
    h = 0
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + struct.unpack(">H", data[i:i + 2])[0]) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def kafka_partition_for(group):
    h = java_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % PARTITIONS


def read_string(buf, pos):
    (n,) = struct.unpack_from(">h", buf, pos)
    pos += 2
    return buf[pos:pos + n].decode(), pos + n


def parse_key(key):
    (version,) = struct.unpack_from(">h", key, 0)
    check(version in (0, 1), f"offset commit key version {version}, expected 1")
    group, pos = read_string(key, 2)
    topic, pos = read_string(key, pos)
    (partition,) = struct.unpack_from(">i", key, pos)
    check(pos + 4 == len(key), f"key has {len(key) - pos - 4} bytes left over")
    return group, topic, partition


def parse_value(value):
    (version,) = struct.unpack_from(">h", value, 0)
    check(version == 3, f"offset commit value version {version}, expected 3")
    offset, leader_epoch = struct.unpack_from(">qi", value, 2)
    metadata, pos = read_string(value, 14)
    (commit_ts,) = struct.unpack_from(">q", value, pos)
    check(pos + 8 == len(value), f"value has {len(value) - pos - 8} bytes left over")
    return offset, leader_epoch, metadata, commit_ts


def offset_and_metadata(offset, metadata):
    try:
        return OffsetAndMetadata(offset, metadata)
    except TypeError:  # kafka-python 2.1+: leader epoch too
        return OffsetAndMetadata(offset, metadata, -1)


def read_committed_from_topic(started_ms):
    """Reads all of __consumer_offsets: {(group, topic, partition): offset}, the partitions that
    held the group's records."""
    reader = KafkaConsumer(bootstrap_servers=KAFKA_BOOTSTRAP, enable_auto_commit=False,
                           group_id=None, consumer_timeout_ms=1000)
    parts = reader.partitions_for_topic(OFFSETS_TOPIC)
    check(parts == set(range(PARTITIONS)),
          f"__consumer_offsets has partitions {sorted(parts or [])}, expected 0..{PARTITIONS - 1}")
    check(OFFSETS_TOPIC in reader._client.cluster.internal_topics,
          "Metadata does not mark __consumer_offsets internal")
    tps = [TopicPartition(OFFSETS_TOPIC, p) for p in sorted(parts)]
    reader.assign(tps)
    reader.seek_to_beginning()
    ends = reader.end_offsets(tps)
    latest = {}
    where = set()
    deadline = time.monotonic() + 30
    while any(reader.position(tp) < ends[tp] for tp in tps):
        check(time.monotonic() < deadline, "timed out reading __consumer_offsets to its end")
        for tp, records in reader.poll(timeout_ms=500).items():
            for r in records:
                group, topic, partition = parse_key(r.key)
                if r.value is None:
                    latest.pop((group, topic, partition), None)
                    continue
                offset, leader_epoch, _metadata, commit_ts = parse_value(r.value)
                check(leader_epoch == -1, f"leader epoch {leader_epoch}")
                check(commit_ts >= started_ms - 1000,
                      f"commit timestamp {commit_ts} is before the test started ({started_ms})")
                latest[(group, topic, partition)] = offset
                if group == GROUP:
                    where.add(tp.partition)
    reader.close()
    return latest, where


def describe():
    """`ferryctl group describe`: {partition: (committed, end, lag)} of TOPIC."""
    rows = {}
    for line in ferryctl("group", "describe", GROUP).splitlines():
        cols = line.split()
        if cols[:1] == [TOPIC]:
            rows[int(cols[1])] = tuple(int(c) if c != "-" else None for c in (cols[3], cols[4],
                                                                            cols[5]))
    return rows


def check_lag(started_ms, commits):
    latest, where = read_committed_from_topic(started_ms)
    want_partition = kafka_partition_for(GROUP)
    check(where == {want_partition},
          f"{GROUP}'s records are on __consumer_offsets partitions {sorted(where)}, Kafka's "
          f"rule gives {want_partition}")
    mine = {p: o for (g, t, p), o in latest.items() if g == GROUP and t == TOPIC}
    check(mine == commits, f"__consumer_offsets says {GROUP} committed {mine}, expected {commits}")
    probe = KafkaConsumer(bootstrap_servers=KAFKA_BOOTSTRAP, group_id=None)
    ends = probe.end_offsets([TopicPartition(TOPIC, p) for p in range(3)])
    probe.close()
    lag = {p: ends[TopicPartition(TOPIC, p)] - o for p, o in mine.items()}
    rows = describe()
    print(f"lag from __consumer_offsets: {lag}; ferryctl group describe: {rows}")
    for p, (committed, end, row_lag) in rows.items():
        check(committed == mine.get(p), f"partition {p}: ferryctl says committed {committed}, "
              f"__consumer_offsets {mine.get(p)}")
        check(row_lag == lag.get(p), f"partition {p}: ferryctl says lag {row_lag}, computed "
              f"{lag.get(p)}")
        check(end == ends[TopicPartition(TOPIC, p)], f"partition {p}: end {end}")
    check(set(rows) == set(mine), f"ferryctl lists partitions {sorted(rows)}, "
          f"__consumer_offsets {sorted(mine)}")


def test():
    started_ms = int(time.time() * 1000)
    producer = KafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, max_block_ms=20000)
    for i in range(30):
        producer.send(TOPIC, value=f"m{i}".encode(), partition=i % 3).get(timeout=20)
    producer.close(timeout=20)

    committer = KafkaConsumer(bootstrap_servers=KAFKA_BOOTSTRAP, group_id=GROUP,
                              enable_auto_commit=False)
    tps = [TopicPartition(TOPIC, p) for p in range(3)]
    committer.assign(tps)
    commits = {0: 3, 1: 7, 2: 10}
    committer.commit({TopicPartition(TOPIC, p): offset_and_metadata(o, f"m{p}")
                      for p, o in commits.items()})
    check_lag(started_ms, commits)

    # A newer commit of partition 1 supersedes the older one.
    commits[1] = 9
    committer.commit({TopicPartition(TOPIC, 1): offset_and_metadata(9, "again")})
    committer.close(autocommit=False)
    check_lag(started_ms, commits)

    # Producing to it is refused.
    producer = KafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, max_block_ms=10000, retries=0)
    try:
        producer.send(OFFSETS_TOPIC, value=b"forged", partition=0).get(timeout=20)
        check(False, "producing to __consumer_offsets succeeded")
    except Exception as e:  # kafka.errors.InvalidTopicError
        print(f"produce to __consumer_offsets refused: {type(e).__name__}")
        check("InvalidTopic" in type(e).__name__, f"refused with {type(e).__name__}: {e}")
    producer.close(timeout=10)


if __name__ == "__main__":
    main(test)
