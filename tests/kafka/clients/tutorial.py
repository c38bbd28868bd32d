#!/usr/bin/python3
"""Kafka's getting-started tutorial with kafka-python against Ferry's Kafka listener.

kafka-python produces "Message 0".."Message 9" with keys "key-0".."key-9" to my-topic (auto
created, 3 partitions); KafkaConsumer('my-topic', group_id='my-group',
auto_offset_reset='earliest') receives all ten; then the group's committed offsets and lag show
in `ferryctl group describe` and in ferryd's /metrics (lag 0 on every partition, 10 records
published, and the group's fetches counted under my-group). Each key must sit on the partition Kafka's murmur2 partitioner picks, both as
kafka-python reports it and as Ferry stores it, and Ferry's own gRPC partitioner must agree.
"""

import time

from kafka import KafkaClient, KafkaConsumer, KafkaProducer
from kafka.partitioner.default import murmur2

from kafka_test_lib import KAFKA_BOOTSTRAP, check, ferryctl, main, metrics, series, wait_for

TOPIC = "my-topic"
GROUP = "my-group"
COUNT = 10


def kafka_partition(key, partitions):
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def test():
    client = KafkaClient(bootstrap_servers=KAFKA_BOOTSTRAP)
    version = client.check_version(timeout=10)
    client.close()
    print(f"kafka-python guesses broker version {version}")

    producer = KafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, max_block_ms=20000)
    where = {}
    for i in range(COUNT):
        key = f"key-{i}".encode()
        md = producer.send(TOPIC, key=key, value=f"Message {i}".encode()).get(timeout=20)
        print(f"Produced event to topic {md.topic}: key = key-{i} value = Message {i} "
              f"(partition {md.partition}, offset {md.offset})")
        where[key] = (md.partition, md.offset)
    producer.flush(timeout=20)
    partitions = producer.partitions_for(TOPIC)
    producer.close(timeout=20)
    check(partitions == {0, 1, 2},
          f"kafka-python sees partitions {sorted(partitions)} of auto-created {TOPIC}, "
          "expected [0, 1, 2] (--default-partitions=3)")
    for key, (partition, _) in where.items():
        check(partition == kafka_partition(key, 3),
              f"kafka-python put {key!r} on partition {partition}, murmur2 says "
              f"{kafka_partition(key, 3)}")
    # Offsets are dense per partition, from 0, in send order.
    per_partition = {}
    for key, (partition, offset) in where.items():
        per_partition.setdefault(partition, []).append(offset)
    for partition, offsets in per_partition.items():
        check(offsets == list(range(len(offsets))),
              f"partition {partition} acknowledged offsets {offsets}, expected 0..{len(offsets)-1}")

    # What Ferry stored: every key at the partition and offset the producer was told.
    stored = ferryctl("consume", TOPIC, "-e", "-f", r"%p %o %k\n").split("\n")
    stored = {line.split()[2].encode(): (int(line.split()[0]), int(line.split()[1]))
              for line in stored if line}
    check(stored == where, f"Ferry stores {stored}, the producer was told {where}")

    # Ferry's own partitioner (gRPC publish, no partition named) agrees with Kafka's murmur2.
    ferryctl("topic", "create", "grpc-keys", "-p", "3")
    lines = "".join(f"key-{i}:Message {i}\n" for i in range(COUNT))
    ferryctl("produce", "grpc-keys", "-K", ":", input=lines.encode())
    grpc_stored = ferryctl("consume", "grpc-keys", "-e", "-f", r"%p %k\n").split("\n")
    for line in filter(None, grpc_stored):
        partition, key = line.split()
        check(int(partition) == where[key.encode()][0],
              f"gRPC publish put {key} on partition {partition}, Kafka produce on "
              f"{where[key.encode()][0]}")

    consumer = KafkaConsumer(TOPIC, group_id=GROUP, bootstrap_servers=KAFKA_BOOTSTRAP,
                             auto_offset_reset="earliest", consumer_timeout_ms=30000)
    received = []
    deadline = time.monotonic() + 45
    for message in consumer:
        print(f"Consumed event from topic {message.topic}: key = {message.key.decode()} "
              f"value = {message.value.decode()} (partition {message.partition}, "
              f"offset {message.offset})")
        received.append((message.key, message.value, message.partition, message.offset))
        if len(received) >= COUNT or time.monotonic() > deadline:
            break
    # close() commits the consumed offsets (enable_auto_commit is on, as in the tutorial).
    consumer.close()
    expected = sorted((f"key-{i}".encode(), f"Message {i}".encode()) + where[f"key-{i}".encode()]
                      for i in range(COUNT))
    check(sorted(received) == expected,
          f"the consumer received {sorted(received)}, expected {expected}")

    # ferryctl group describe: TOPIC PARTITION MEMBER COMMITTED END LAG
    describe = ferryctl("group", "describe", GROUP)
    print(describe)
    rows = [line.split() for line in describe.splitlines() if line.split()[:1] == [TOPIC]]
    check(rows, f"ferryctl group describe {GROUP} lists no partition of {TOPIC}")
    committed = sum(int(r[3]) for r in rows if r[3] != "-")
    lag = sum(int(r[5]) for r in rows if r[5] != "-")
    check(committed == COUNT, f"committed offsets add up to {committed}, expected {COUNT}")
    check(lag == 0, f"group {GROUP} has lag {lag}, expected 0")

    # /metrics: ferry_consumer_group_lag{group,topic,partition} is 0 on every partition that
    # received a record (end - committed).
    want = {p for p, _ in where.values()}

    def lag_series():
        s = series(metrics(), "ferry_consumer_group_lag", group=GROUP, topic=TOPIC)
        return s if {int(l["partition"]) for l, _ in s} >= want else None

    lags = wait_for("ferry_consumer_group_lag series of my-group", lag_series)
    print("metrics:", sorted((int(l["partition"]), v) for l, v in lags))
    check(all(v == 0 for _, v in lags), f"ferry_consumer_group_lag is not 0: {lags}")
    published = series(metrics(), "ferry_records_published_total", topic=TOPIC)
    check([v for _, v in published] == [COUNT],
          f"ferry_records_published_total{{topic={TOPIC}}} is {published}, expected {COUNT}")

    # A Kafka Fetch names no group; ferryd counts what my-group's member fetched under
    # my-group (its client id and host own those partitions), not as unattributed fetches.
    delivered = sum(v for _, v in series(metrics(), "ferry_records_delivered_total",
                                         topic=TOPIC, group=GROUP))
    check(delivered >= COUNT,
          f"ferry_records_delivered_total{{topic={TOPIC},group={GROUP}}} is {delivered}, "
          f"expected at least {COUNT}")
    unattributed = sum(v for _, v in series(metrics(), "ferry_kafka_records_fetched_total",
                                            topic=TOPIC))
    check(unattributed == 0,
          f"{unattributed} records of {TOPIC} fetched by the group counted as no group's")
    print(f"metrics: {delivered:.0f} records delivered to {GROUP}, none unattributed")


if __name__ == "__main__":
    main(test)
