#!/usr/bin/python3
"""Compressed produce from real clients against Ferry's Kafka listener, each record read back.

- librdkafka (python3-confluent-kafka) with compression.type gzip, snappy, lz4 and zstd (the
  broker must advertise Produce v7 or later: librdkafka silently sends zstd uncompressed below).
- kafka-python with compression_type gzip, snappy (python3-snappy), lz4 (python3-lz4) and zstd
  (python3-zstandard).
- kcat -z gzip, snappy, lz4 and zstd.
Each producer writes its own one-partition topic; a librdkafka consumer reads it from offset 0
and every value must be there once, in order; ferryd's ferry_kafka_produced_batches_total{codec}
shows the batches really came compressed with that codec.
"""

import socket
import struct
import subprocess
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from kafka_test_lib import KAFKA_BOOTSTRAP, TestFailure, check, ferryctl, main, metrics, series

N = 400


def produce_max_version():
    """The highest Produce version the broker advertises (ApiVersions v0, raw)."""
    host, port = KAFKA_BOOTSTRAP.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        client = b"compression-test"
        header = struct.pack(">hhih", 18, 0, 1, len(client)) + client
        s.sendall(struct.pack(">i", len(header)) + header)
        size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
        body = s.recv(size, socket.MSG_WAITALL)
    _, error, count = struct.unpack(">ihi", body[:10])
    check(error == 0, f"ApiVersions error {error}")
    for i in range(count):
        key, _, high = struct.unpack(">hhh", body[10 + 6 * i:16 + 6 * i])
        if key == 0:
            return high
    raise TestFailure("the broker does not advertise Produce")


def values(tag):
    # Compressible and distinct: what a codec would see in practice.
    return [f"{tag} record {i} ".encode() + b"payload " * 12 for i in range(N)]


def read_back(topic, expected):
    consumer = Consumer({"bootstrap.servers": KAFKA_BOOTSTRAP, "group.id": f"check-{topic}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < len(expected) and time.monotonic() < deadline:
        for msg in consumer.consume(500, 1.0):
            check(msg.error() is None, f"{topic}: consume error {msg.error()}")
            got.append(msg.value())
    consumer.close()
    check(len(got) == len(expected), f"{topic}: read {len(got)} records, produced {len(expected)}")
    check(got == expected, f"{topic}: records differ from what was produced")
    print(f"{topic}: {len(got)} records read back")


def confluent(codec):
    topic = f"rdkafka-{codec}"
    ferryctl("topic", "create", topic, "-p", "1")
    expected = values(topic)
    producer = Producer({"bootstrap.servers": KAFKA_BOOTSTRAP, "compression.type": codec,
                         "linger.ms": 20, "acks": "all"})
    errors = []
    for v in expected:
        producer.produce(topic, value=v, partition=0,
                         on_delivery=lambda err, _: errors.append(err) if err else None)
    check(producer.flush(60) == 0, f"{topic}: records undelivered after 60 s")
    check(not errors, f"{topic}: delivery errors {errors[:3]}")
    read_back(topic, expected)


def kafka_python(codec):
    from kafka import KafkaProducer
    topic = f"kafka-python-{codec}"
    ferryctl("topic", "create", topic, "-p", "1")
    expected = values(topic)
    producer = KafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, compression_type=codec,
                             linger_ms=20, acks="all")
    futures = [producer.send(topic, value=v, partition=0) for v in expected]
    producer.flush(60)
    for f in futures:
        f.get(timeout=10)  # raises on a produce error
    producer.close()
    read_back(topic, expected)


def kcat(codec):
    topic = f"kcat-{codec}"
    ferryctl("topic", "create", topic, "-p", "1")
    expected = values(topic)
    proc = subprocess.run(["kcat", "-b", KAFKA_BOOTSTRAP, "-P", "-t", topic, "-p", "0", "-z",
                           codec], input=b"\n".join(expected) + b"\n", capture_output=True,
                          timeout=60)
    check(proc.returncode == 0, f"kcat -z {codec} exited {proc.returncode}: "
          f"{proc.stderr.decode(errors='replace').strip()}")
    read_back(topic, expected)


def batches_by_codec():
    return {labels["codec"]: value
            for labels, value in series(metrics(), "ferry_kafka_produced_batches_total")}


def compressed(client, codec, produce):
    """Runs `produce` and checks, from ferryd's metrics, that what it sent came compressed
    with `codec` and not silently uncompressed (librdkafka does that when it thinks the broker
    cannot take the codec)."""
    before = batches_by_codec()
    produce(codec)
    after = batches_by_codec()
    grew = {c: after.get(c, 0) - before.get(c, 0) for c in after}
    check(grew.get(codec, 0) > 0 and grew.get("none", 0) == 0,
          f"{client} with {codec}: batches stored by codec {grew}; want only {codec}")
    print(f"{client} with {codec}: {grew[codec]:.0f} {codec} batches stored")


def test():
    produce_max = produce_max_version()
    check(produce_max >= 7, f"the broker serves Produce up to v{produce_max}; zstd needs v7")
    for codec in ["gzip", "snappy", "lz4", "zstd"]:
        compressed("librdkafka", codec, confluent)
        compressed("kafka-python", codec, kafka_python)
        compressed("kcat", codec, kcat)


if __name__ == "__main__":
    main(test)
