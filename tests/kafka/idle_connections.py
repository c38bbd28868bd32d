#!/usr/bin/env python3
"""Opens N idle Kafka connections to a running ferryd and reports its threads and RSS.

Each connection is proven served (one ApiVersions v0 answered), then left idle. The figures
come from /proc/<pid>/status before the first connection and with all N open.

    ferryd --kafka-listen=127.0.0.1:9092 --kafka-max-connections=20000 \
        --kafka-max-connections-per-ip=20000 &
    /usr/bin/python3 tests/kafka/idle_connections.py --pid $! --port 9092 --connections 10000
"""
import argparse
import resource
import socket
import struct
import sys
import time


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return int(out["Threads"]), int(out["VmRSS"].split()[0])


def api_versions(sock, correlation):
    client = b"idle"
    body = struct.pack(">hhih", 18, 0, correlation, len(client)) + client
    sock.sendall(struct.pack(">i", len(body)) + body)
    size = struct.unpack(">i", recv_exactly(sock, 4))[0]
    frame = recv_exactly(sock, size)
    got, error = struct.unpack(">ih", frame[:6])
    if got != correlation or error != 0:
        raise RuntimeError(f"bad ApiVersions answer (correlation {got}, error {error})")


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise RuntimeError("the broker closed the connection")
        data += chunk
    return data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, required=True, help="ferryd's process id")
    parser.add_argument("--port", type=int, required=True, help="ferryd's Kafka port")
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--hold-seconds", type=float, default=2.0,
                        help="how long to hold them open before measuring again")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.connections + 100
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want), hard))
    threads0, rss0 = status(args.pid)
    socks = []
    started = time.monotonic()
    for i in range(args.connections):
        s = socket.create_connection(("127.0.0.1", args.port), timeout=30)
        api_versions(s, i + 1)
        socks.append(s)
    opened = time.monotonic() - started
    time.sleep(args.hold_seconds)
    threads1, rss1 = status(args.pid)
    print(f"ferryd pid {args.pid}: before: {threads0} threads, RSS {rss0 / 1024:.1f} MiB; "
          f"with {len(socks)} idle Kafka connections (opened in {opened:.1f} s): "
          f"{threads1} threads, RSS {rss1 / 1024:.1f} MiB "
          f"({(rss1 - rss0) * 1024 / len(socks):.0f} bytes per connection)")
    # Every connection is still served.
    for i, s in enumerate(socks[:: max(1, len(socks) // 100)]):
        api_versions(s, 1000000 + i)
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
