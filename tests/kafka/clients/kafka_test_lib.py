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


class Child:
    """A child process of a test (a group member, ferryctl consume): every stdout line is kept
    with the CLOCK_MONOTONIC time it was read (time.monotonic_ns(), comparable with other
    processes' on Linux); stderr goes to a file for the failure report. A line may be sent to
    its stdin."""

    def __init__(self, name, argv, stderr_path):
        import threading
        self.name = name
        self.stderr_path = stderr_path
        self._stderr = open(stderr_path, "w")
        self._lines = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self._lock:
                self._lines.append((time.monotonic_ns(), line.rstrip("\n")))

    def lines(self):
        """[(monotonic ns when read, line)] so far."""
        with self._lock:
            return list(self._lines)

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def running(self):
        return self.proc.poll() is None

    def wait(self, timeout):
        """Waits for the process to exit (bounded); its exit status. Fails after timeout s."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure(f"{self.name} did not exit within {timeout:.0f} s")
        self._reader.join(timeout=5)
        return rc

    def stderr_tail(self, lines=15):
        self._stderr.flush()
        with open(self.stderr_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def overlaps(intervals):
    """intervals: [(partition, consumer, start_ns, end_ns, offset)]. Every interval that
    overlaps in time an interval of another consumer on the same partition, as (other, it)
    pairs ordered by its start. Exact: sorted by start, an interval overlaps one of consumer
    c's earlier-starting intervals iff the largest end among those is after its start."""
    by_partition = {}
    for iv in intervals:
        by_partition.setdefault(iv[0], []).append(iv)
    found = []
    for partition in sorted(by_partition):
        latest_end = {}  # consumer -> its interval with the largest end so far
        for iv in sorted(by_partition[partition], key=lambda iv: (iv[2], iv[3])):
            for consumer, other in latest_end.items():
                if consumer != iv[1] and other[3] > iv[2]:
                    found.append((other, iv))
                    break
            best = latest_end.get(iv[1])
            if best is None or iv[3] > best[3]:
                latest_end[iv[1]] = iv
    return sorted(found, key=lambda pair: pair[1][2])
