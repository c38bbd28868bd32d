#!/usr/bin/python3
"""Real Kafka clients over TLS against Ferry's SSL listener (tls_run.sh starts ferryd).

- kcat (librdkafka): produce and consume with security.protocol=ssl, trusting the test CA;
  again presenting a client certificate, whose CN the broker logs as the principal.
- confluent-kafka-python: a Producer and a group Consumer over SSL, then over mTLS.
- kafka-python: KafkaProducer and KafkaConsumer over SSL with a client certificate.
- a client trusting no CA for the broker fails; /metrics over HTTPS works with the CA and
  plain HTTP gets no answer.
"""

import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request

from kafka_test_lib import (FERRY_METRICS, KAFKA_BOOTSTRAP, TestFailure, check, ferryd_log,
                            main, wait_for)

TLS_DIR = os.environ["TLS_DIR"]
CA = os.path.join(TLS_DIR, "ca.pem")
CERT = os.path.join(TLS_DIR, "client.pem")
KEY = os.path.join(TLS_DIR, "client.key")
SSL_OPTS = ["-X", "security.protocol=ssl", "-X", f"ssl.ca.location={CA}"]
MTLS_OPTS = SSL_OPTS + ["-X", f"ssl.certificate.location={CERT}", "-X", f"ssl.key.location={KEY}"]


def kcat(*args, input=None, timeout=60):
    proc = subprocess.run(["kcat", "-b", KAFKA_BOOTSTRAP, *args], input=input,
                          capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise TestFailure(f"kcat {' '.join(args)} exited {proc.returncode}: "
                          f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode()


def kcat_round_trip(topic, opts):
    values = [f"{topic} {i}" for i in range(5)]
    kcat(*opts, "-P", "-t", topic, "-p", "0", input="".join(v + "\n" for v in values).encode())
    got = kcat(*opts, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q").splitlines()
    check(got == values, f"kcat read {got} from {topic}, produced {values}")


def confluent_round_trip(topic, extra):
    from confluent_kafka import Consumer, Producer
    conf = {"bootstrap.servers": KAFKA_BOOTSTRAP, "security.protocol": "SSL",
            "ssl.ca.location": CA, **extra}
    producer = Producer(conf)
    values = [f"{topic} {i}".encode() for i in range(5)]
    errors = []
    for v in values:
        producer.produce(topic, v, partition=0, on_delivery=lambda e, m: e and errors.append(e))
    check(producer.flush(20) == 0 and not errors, f"confluent-kafka produce to {topic}: {errors}")
    consumer = Consumer({**conf, "group.id": f"{topic}-group", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < len(values) and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is not None and m.error() is None:
            got.append(m.value())
    consumer.close()
    check(got == values, f"confluent-kafka read {got} from {topic}, produced {values}")


def kafka_python_round_trip(topic):
    from kafka import KafkaConsumer, KafkaProducer
    tls = {"security_protocol": "SSL", "ssl_cafile": CA, "ssl_certfile": CERT,
           "ssl_keyfile": KEY}
    producer = KafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, max_block_ms=20000, **tls)
    values = [f"{topic} {i}".encode() for i in range(5)]
    for v in values:
        producer.send(topic, v, partition=0).get(timeout=20)
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=KAFKA_BOOTSTRAP,
                             auto_offset_reset="earliest", consumer_timeout_ms=20000, **tls)
    got = []
    for m in consumer:
        got.append(m.value)
        if len(got) == len(values):
            break
    consumer.close()
    check(got == values, f"kafka-python read {got} from {topic}, produced {values}")


def test():
    kcat_round_trip("tls-kcat", SSL_OPTS)
    kcat_round_trip("mtls-kcat", MTLS_OPTS)
    wait_for("the client certificate's principal in ferryd's log",
             lambda: "principal=User:tls-client" in ferryd_log(), timeout=10)

    # A client that does not trust the broker's CA gets no metadata.
    proc = subprocess.run(["kcat", "-b", KAFKA_BOOTSTRAP, "-X", "security.protocol=ssl",
                           "-X", f"ssl.ca.location={CERT}", "-L", "-m", "3"],
                          capture_output=True, timeout=30)
    check(proc.returncode != 0, "kcat trusting another CA listed metadata")

    confluent_round_trip("tls-confluent", {})
    confluent_round_trip("mtls-confluent",
                         {"ssl.certificate.location": CERT, "ssl.key.location": KEY})
    kafka_python_round_trip("mtls-kafka-python")

    context = ssl.create_default_context(cafile=CA)
    with urllib.request.urlopen(f"https://{FERRY_METRICS}/metrics", context=context,
                                timeout=10) as response:
        text = response.read().decode()
    check("ferry_build_info" in text, "GET /metrics over HTTPS has no ferry_build_info")
    answered = False
    try:
        urllib.request.urlopen(f"http://{FERRY_METRICS}/metrics", timeout=10).read()
        answered = True
    except (urllib.error.URLError, ConnectionError, OSError):
        pass
    check(not answered, "GET /metrics over plain HTTP answered")
    print("kcat, confluent-kafka and kafka-python over SSL and mTLS; /metrics over HTTPS")


if __name__ == "__main__":
    main(test)
