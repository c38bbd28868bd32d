#!/usr/bin/python3
"""Idempotent and transactional producers of librdkafka (Debian's python3-confluent-kafka)
against Ferry's Kafka listener.

1. A producer with enable.idempotence=true and acks=all gets a producer id (InitProducerId)
   and produces N keyed records over 3 partitions; every delivery report is a success.
   Reading every partition back: each record is there exactly once, each partition's records
   in the order they were produced, and offsets dense from 0.
2. A producer with a transactional.id: init_transactions() fails at once with a fatal error
   naming the cause (transactional id authorization failed), not a timeout or a closed
   connection.
"""

import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from kafka_test_lib import KAFKA_BOOTSTRAP, check, main

N = 3000
TOPIC = "idempotent-orders"


def produce_idempotent():
    producer = Producer({
        "bootstrap.servers": KAFKA_BOOTSTRAP,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "batch.num.messages": 100,
    })
    reports = []

    def on_delivery(err, msg):
        reports.append((err, msg.partition(), msg.offset(), msg.key()))

    for i in range(N):
        while True:
            try:
                producer.produce(TOPIC, key=f"k-{i}".encode(), value=str(i).encode(),
                                 on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(60)
    check(left == 0, f"{left} records still undelivered after 60 s")
    errors = [r for r in reports if r[0] is not None]
    check(not errors, f"{len(errors)} delivery errors, first: {errors[:3]}")
    check(len(reports) == N, f"{len(reports)} delivery reports for {N} records")
    return {r[3]: (r[1], r[2]) for r in reports}


def read_back(partitions):
    consumer = Consumer({
        "bootstrap.servers": KAFKA_BOOTSTRAP,
        "group.id": "idempotence-check",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in partitions])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < N and time.monotonic() < deadline:
        for msg in consumer.consume(500, 1.0):
            check(msg.error() is None, f"consume error: {msg.error()}")
            got.append((msg.partition(), msg.offset(), msg.key(), int(msg.value())))
    # Anything beyond N would be a duplicate: wait a little for it.
    for msg in consumer.consume(500, 1.0):
        if msg.error() is None:
            got.append((msg.partition(), msg.offset(), msg.key(), int(msg.value())))
    consumer.close()
    return got


def test():
    acked = produce_idempotent()
    partitions = sorted({p for p, _ in acked.values()})
    check(len(partitions) > 1, f"records went to partitions {partitions} only")
    got = read_back(partitions)
    check(len(got) == N, f"read {len(got)} records, produced {N}")
    keys = [k for _, _, k, _ in got]
    check(len(set(keys)) == N, f"{N - len(set(keys))} records stored more than once")
    for p in partitions:
        mine = sorted((o, v, k) for q, o, k, v in got if q == p)
        offsets = [o for o, _, _ in mine]
        check(offsets == list(range(len(mine))), f"partition {p}: offsets not dense from 0")
        values = [v for _, v, _ in mine]
        check(values == sorted(values), f"partition {p}: records out of produce order")
        for o, _, k in mine:
            check(acked[k] == (p, o), f"record {k} acked at {acked[k]}, stored at {(p, o)}")
    print(f"idempotent producer: {N} records over partitions {partitions}, each once, in order")

    producer = Producer({"bootstrap.servers": KAFKA_BOOTSTRAP, "transactional.id": "tx-1"})
    started = time.monotonic()
    try:
        producer.init_transactions(20)
        check(False, "init_transactions succeeded on a broker without transactions")
    except KafkaException as e:
        err = e.args[0]
        took = time.monotonic() - started
        print(f"transactional producer: {err.str()} (fatal={err.fatal()}, {took:.1f} s)")
        check("authorization" in err.str().lower(), f"unclear error: {err.str()}")
        check(took < 15, f"init_transactions took {took:.1f} s to fail")


if __name__ == "__main__":
    main(test)
