"""Shared pieces of the real-Kafka-client tests: the addresses run.sh exports, bounded polling,
ferryctl, /metrics and the ferry.v1 gRPC stubs."""

import os
import subprocess
import sys
import time
import urllib.request

KAFKA_BOOTSTRAP = os.environ["KAFKA_BOOTSTRAP"]
FERRY_BROKER = os.environ["FERRY_BROKER"]
FERRY_METRICS = os.environ["FERRY_METRICS"]
FERRYCTL = os.environ["FERRYCTL"]
FERRYD_LOG = os.environ["FERRYD_LOG"]


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def wait_for(what, condition, timeout=20.0, interval=0.05):
    """Polls condition() until it returns something truthy; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def ferryctl(*args, input=None, timeout=30):
    """Runs ferryctl against the test's ferryd; returns stdout, fails on a non-zero exit."""
    proc = subprocess.run([FERRYCTL, "--broker", FERRY_BROKER, *args], input=input,
                          capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise TestFailure(f"ferryctl {' '.join(args)} exited {proc.returncode}: "
                          f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode()


def metrics():
    """ferryd's /metrics as {(name, frozenset(labels.items())): value}."""
    with urllib.request.urlopen(f"http://{FERRY_METRICS}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        name, _, labels = series.partition("{")
        pairs = {}
        for item in filter(None, labels.rstrip("}").split('",')):
            k, _, v = item.partition("=")
            pairs[k.strip(",")] = v.strip('"')
        samples[(name, frozenset(pairs.items()))] = float(value)
    return samples


def series(samples, name, **labels):
    """The samples of metric `name` whose labels include `labels`, as [(labels dict, value)]."""
    want = set(labels.items())
    return [(dict(l), v) for (n, l), v in samples.items() if n == name and want <= l]


def ferryd_log():
    with open(FERRYD_LOG, errors="replace") as f:
        return f.read()


def grpc_stubs():
    """(channel, Broker stub, Admin stub, ferry_pb2) for the test's ferryd."""
    import grpc
    from ferry.v1 import ferry_pb2, ferry_pb2_grpc
    channel = grpc.insecure_channel(FERRY_BROKER)
    return (channel, ferry_pb2_grpc.BrokerStub(channel), ferry_pb2_grpc.AdminStub(channel),
            ferry_pb2)


def main(test):
    """Runs test(); prints a FAIL line and exits 1 on a TestFailure."""
    try:
        test()
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
