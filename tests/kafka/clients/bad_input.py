#!/usr/bin/python3
"""Bad input on raw sockets: each case must end only its own connection (closed, or answered
with an error), leave a line in ferryd's log, and leave the broker serving: a connection opened
before the case and one opened after it still get ApiVersions answers.

Cases: frames cut short, sizes over --kafka-max-request-bytes and negative, unknown API keys, an
unsupported ApiVersions version (answered with UNSUPPORTED_VERSION, as Kafka does), forged array
and string lengths, a Produce batch with a wrong CRC (CORRUPT_MESSAGE, nothing stored), and
garbage (an HTTP request, a TLS ClientHello, random bytes)."""

import random
import re
import socket
import struct
import time

from kafka.record.default_records import DefaultRecordBatchBuilder

from kafka_test_lib import KAFKA_BOOTSTRAP, check, ferryctl, ferryd_log, main, TestFailure

HOST, PORT = KAFKA_BOOTSTRAP.split(":")
PORT = int(PORT)
API_PRODUCE, API_METADATA, API_VERSIONS = 0, 3, 18
UNSUPPORTED_VERSION, CORRUPT_MESSAGE = 35, 2


def connect():
    s = socket.create_connection((HOST, PORT), timeout=10)
    s.settimeout(10)
    return s


def header(api_key, version, correlation_id, client_id=b"ferry-bad-input"):
    return struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id


def frame(payload):
    return struct.pack(">i", len(payload)) + payload


def read_frame(s):
    """One response frame, or None when the broker closed the connection."""
    def read(n):
        data = b""
        while len(data) < n:
            try:
                chunk = s.recv(n - len(data))
            except (ConnectionResetError, BrokenPipeError):
                return None
            if not chunk:
                return None
            data += chunk
        return data
    size = read(4)
    if size is None:
        return None
    return read(struct.unpack(">i", size)[0])


def api_versions(s, correlation_id=1, version=0):
    """Sends ApiVersions; returns (correlation id, error code, {api key: (min, max)})."""
    s.sendall(frame(header(API_VERSIONS, version, correlation_id)))
    body = read_frame(s)
    check(body is not None, "the broker closed a connection that sent a valid ApiVersions")
    corr, error, n = struct.unpack_from(">ihi", body)
    apis = {}
    for i in range(max(n, 0)):
        k, lo, hi = struct.unpack_from(">hhh", body, 10 + 6 * i)
        apis[k] = (lo, hi)
    return corr, error, apis


def expect_closed(s, what):
    """The broker must close s; a response frame, if any, must answer nothing we did not send."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            body = read_frame(s)
        except socket.timeout:
            raise TestFailure(f"{what}: the connection neither closed nor answered in 10 s")
        if body is None:
            return
    raise TestFailure(f"{what}: the connection was not closed")


def wait_for_log(what, matches, since):
    """The new lines of ferryd's log (after byte `since`) for which matches(line) holds; waits up
    to 10 s for the first."""
    deadline = time.monotonic() + 10
    while True:
        new = ferryd_log()[since:]
        lines = [line for line in new.splitlines() if matches(line)]
        if lines:
            return lines
        if time.monotonic() > deadline:
            raise TestFailure(f"{what}: nothing about it in ferryd's log; its new lines:\n{new}")
        time.sleep(0.05)


def still_serving(before, what):
    corr, error, _ = api_versions(before, correlation_id=101)
    check(corr == 101 and error == 0, f"after {what}: the earlier connection got {corr}, {error}")
    with connect() as after:
        corr, error, apis = api_versions(after, correlation_id=102)
        check(corr == 102 and error == 0 and API_PRODUCE in apis,
              f"after {what}: a new connection got {corr}, {error}, {apis}")


def closing_case(before, what, payload, half_close=False):
    """Sends payload on a fresh connection and expects the broker to close it and log it."""
    since = len(ferryd_log())
    s = connect()
    local_port = s.getsockname()[1]
    s.sendall(payload)
    if half_close:
        s.shutdown(socket.SHUT_WR)
    expect_closed(s, what)
    s.close()
    # A line about this connection (its peer address) other than the debug "connected" one.
    peer = re.compile(rf"127\.0\.0\.1:{local_port}\b")
    lines = wait_for_log(what, lambda line: peer.search(line) and
                         "event=kafka_connected " not in line + " ", since)
    print(f"ok   {what}: closed; log: {lines[-1]}")
    still_serving(before, what)


def batch(values, corrupt_crc=False, compression_type=0):
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=compression_type,
                                        is_transactional=0, producer_id=-1, producer_epoch=-1,
                                        base_sequence=-1, batch_size=1 << 20)
    for i, v in enumerate(values):
        builder.append(i, timestamp=None, key=b"k", value=v, headers=[])
    data = bytearray(builder.build())
    if corrupt_crc:
        data[17] ^= 0xFF  # the CRC follows base offset (8), length (4), epoch (4), magic (1)
    return bytes(data)


def produce(s, topic, records, correlation_id):
    """Produce v3, acks=-1; returns (error code, base offset) of partition 0."""
    name = topic.encode()
    body = (struct.pack(">hhi", -1, -1, 10000) + struct.pack(">ih", 1, len(name)) + name +
            struct.pack(">iii", 1, 0, len(records)) + records)
    s.sendall(frame(header(API_PRODUCE, 3, correlation_id) + body))
    resp = read_frame(s)
    if resp is None:
        return None
    corr, ntopics, nlen = struct.unpack_from(">iih", resp)
    check(corr == correlation_id and ntopics == 1, f"Produce response {resp!r}")
    at = 10 + nlen
    _, partition, error, base_offset = struct.unpack_from(">iihq", resp, at)
    return error, base_offset


def test():
    before = connect()
    corr, error, apis = api_versions(before)
    check(corr == 1 and error == 0, f"ApiVersions v0 answered {corr}, {error}")
    print(f"ApiVersions: {sorted(apis.items())}")

    # A valid header then EOF in the middle of the frame.
    closing_case(before, "truncated frame (size 100, 12 bytes, then EOF)",
                 struct.pack(">i", 100) + header(API_VERSIONS, 0, 5)[:12], half_close=True)
    # A complete frame too short to hold a request header.
    closing_case(before, "frame too short for a header", frame(b"\x00\x12\x00"))
    closing_case(before, "size 0x7fffffff", struct.pack(">i", 0x7FFFFFFF) + b"\x00" * 16)
    closing_case(before, "negative size", struct.pack(">i", -5) + b"\x00" * 16)
    closing_case(before, "size just over --kafka-max-request-bytes (100 MiB)",
                 struct.pack(">i", (100 << 20) + 1) + b"\x00" * 16)
    closing_case(before, "unknown API key 999", frame(header(999, 0, 7)))
    closing_case(before, "unknown API key -1", frame(header(-1, 0, 7)))
    closing_case(before, "Metadata v1 with a topic array of 2^31-1 entries",
                 frame(header(API_METADATA, 1, 8) + struct.pack(">i", 0x7FFFFFFF)))
    closing_case(before, "client id length 30000 past the frame end",
                 frame(struct.pack(">hhih", API_METADATA, 1, 9, 30000) + b"abc"))
    closing_case(before, "HTTP request", b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    closing_case(before, "TLS ClientHello",
                 bytes.fromhex("16030100a5010000a10303") + bytes(range(32)) + b"\x00" * 40)
    rng = random.Random(7)
    garbage = bytes(rng.randrange(256) for _ in range(200))
    closing_case(before, "200 random bytes in a 200-byte frame", frame(garbage))

    # A version of ApiVersions the broker does not know: Kafka answers with UNSUPPORTED_VERSION
    # (in a v0 response, so the client can pick a version it has) and keeps the connection.
    with connect() as s:
        corr, error, apis = api_versions(s, correlation_id=77, version=99)
        check(corr == 77 and error == UNSUPPORTED_VERSION and API_VERSIONS in apis,
              f"ApiVersions v99 answered correlation {corr}, error {error}, apis {apis}; "
              f"Kafka answers error {UNSUPPORTED_VERSION} and its version ranges")
        corr, error, _ = api_versions(s, correlation_id=78)
        check(corr == 78 and error == 0, "the connection did not survive ApiVersions v99")
    print("ok   ApiVersions v99: UNSUPPORTED_VERSION, connection kept")

    # A Produce batch with a wrong CRC: CORRUPT_MESSAGE (or the connection closed), nothing
    # stored; the same batch with its CRC intact lands at the next offset.
    ferryctl("topic", "create", "raw-crc", "-p", "1")
    with connect() as s:
        check(produce(s, "raw-crc", batch([b"good 0"]), 201) == (0, 0),
              "a valid Produce v3 batch was not stored at offset 0")
        since = len(ferryd_log())
        result = produce(s, "raw-crc", batch([b"bad 1", b"bad 2"], corrupt_crc=True), 202)
        check(result is None or result[0] == CORRUPT_MESSAGE,
              f"Produce with a wrong CRC answered (error, base offset) {result}; "
              f"Kafka answers CORRUPT_MESSAGE ({CORRUPT_MESSAGE})")
        lines = wait_for_log("wrong CRC", lambda line: re.search(r"crc|corrupt", line, re.I),
                             since)
        print(f"ok   Produce with a wrong CRC: {result}; log: {lines[-1]}")
    with connect() as s:
        result = produce(s, "raw-crc", batch([b"good 1"]), 203)
        check(result == (0, 1), f"the next valid batch got {result}, expected (0, 1): the "
              "corrupt batch must not have been stored")
    values = ferryctl("consume", "raw-crc", "-e", "-f", r"%v\n").split()
    check(values == ["good", "0", "good", "1"], f"raw-crc holds {values}")
    still_serving(before, "the wrong CRC")

    # A gzip batch: stored, read back decompressed, and the connection stays usable.
    with connect() as s:
        # Compressible: kafka-python's builder sends a batch uncompressed when gzip does not
        # make it smaller.
        result = produce(s, "raw-crc", batch([b"gzipped " * 100], compression_type=1), 204)
        check(result == (0, 2),
              f"a gzip Produce v3 batch answered (error, base offset) {result}; expected (0, 2)")
        corr, error, _ = api_versions(s, correlation_id=205)
        check(corr == 205 and error == 0, "the connection did not survive the gzip batch")
    values = ferryctl("consume", "raw-crc", "-o", "2", "-e", "-f", r"%v\n").split()
    check(values == ["gzipped"] * 100, f"the gzip batch reads back as {values[:5]}...")
    print(f"ok   gzip Produce: {result}")
    before.close()


if __name__ == "__main__":
    main(test)
