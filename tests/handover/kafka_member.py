#!/usr/bin/python3
"""A consumer-group member for ferryd's Kafka door, on confluent-kafka (librdkafka), run as its
own process by handover_test.py so the test can SIGTERM, kill -9, SIGSTOP and SIGCONT it.

It joins --group on --topic from the earliest offset, consume()s batches of at most
--batch records, spends --process-us on every record (sleeping: that is the workload, not
synchronisation), commits what it processed synchronously after each batch and in on_revoke,
and logs to --out with the same lines as ferry_handover_member (tests/tools/handover_member.cc),
one os.write per line, CLOCK_MONOTONIC nanoseconds (time.monotonic_ns):

  S <ns> <pid> rebalance_timeout=applied
  A <ns> <p,p,...> -          on_assign (eager: the whole new assignment; cooperative: added)
  V <ns> <p,p,...> revoke|lost   on_revoke / on_lost
  R <p> <offset> <start_ns> <end_ns>   a record processed (start: when consume returned)
  C <p> <offset> <ns>         the broker accepted the commit of <offset> for <p>
  E <ns> <what> <message>     a failed commit, or an error message from consume
  X <ns> <exit code>          exit after SIGTERM: close() (graceful leave) returned

A C line is written only for a partition the commit response reports without an error.
on_lost commits nothing (the partitions may be someone else's already).

  kafka_member.py --broker=HOST:PORT --group=G --topic=T --out=FILE
      [--session-timeout-ms=N] [--rebalance-timeout-ms=N] [--heartbeat-ms=N]
      [--process-us=N] [--batch=N] [--assignor=range|roundrobin|cooperative-sticky]
"""

import argparse
import os
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

stop = False


def on_sigterm(signum, frame):
    global stop
    stop = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--session-timeout-ms", type=int, default=1500)
    ap.add_argument("--rebalance-timeout-ms", type=int, default=2000)
    ap.add_argument("--heartbeat-ms", type=int, default=200)
    ap.add_argument("--process-us", type=int, default=500)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--assignor", default="range",
                    choices=["range", "roundrobin", "cooperative-sticky"])
    args = ap.parse_args()

    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)

    def line(text):
        data = (text + "\n").encode()
        while data:
            n = os.write(fd, data)
            data = data[n:]

    signal.signal(signal.SIGTERM, on_sigterm)
    line(f"S {time.monotonic_ns()} {os.getpid()} rebalance_timeout=applied")

    # Owned partition -> one past the last record processed; and the last offset committed.
    processed = {}
    committed = {}

    def commit(consumer, which):
        offsets = [TopicPartition(args.topic, p, processed[p]) for p in sorted(which)
                   if p in processed and committed.get(p) != processed[p]]
        if not offsets:
            return
        sent = time.monotonic_ns()
        try:
            result = consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as e:
            line(f"E {time.monotonic_ns()} commit {e}")
            return
        now = time.monotonic_ns()
        for tp in result or []:
            if tp.error is not None:
                line(f"E {now} commit partition {tp.partition}: {tp.error}")
                continue
            committed[tp.partition] = tp.offset
            line(f"C {tp.partition} {tp.offset} {now} {sent}")

    def parts(partitions):
        return ",".join(str(tp.partition) for tp in partitions) or "-"

    def on_assign(consumer, partitions):
        line(f"A {time.monotonic_ns()} {parts(partitions)} -")

    def on_revoke(consumer, partitions):
        # The V line follows the final commit: a kill -9 before it leaves the partitions in
        # this member's ownership as far as the checker is concerned, which is what they are
        # until that commit is done.
        commit(consumer, [tp.partition for tp in partitions])
        line(f"V {time.monotonic_ns()} {parts(partitions)} revoke")
        for tp in partitions:
            processed.pop(tp.partition, None)
            committed.pop(tp.partition, None)

    def on_lost(consumer, partitions):
        line(f"V {time.monotonic_ns()} {parts(partitions)} lost")
        for tp in partitions:
            processed.pop(tp.partition, None)
            committed.pop(tp.partition, None)

    consumer = Consumer({
        "bootstrap.servers": args.broker,
        "group.id": args.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": args.session_timeout_ms,
        "heartbeat.interval.ms": args.heartbeat_ms,
        "max.poll.interval.ms": args.rebalance_timeout_ms,
        "partition.assignment.strategy": args.assignor,
        # One connection's worth of prefetch is enough and keeps stale prefetch small.
        "queued.max.messages.kbytes": 1024,
        "socket.timeout.ms": 10000,
        "log.connection.close": False,
    })
    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)

    delay = args.process_us / 1e6
    while not stop:
        batch = consumer.consume(num_messages=args.batch, timeout=0.1)
        start = time.monotonic_ns()
        for msg in batch:
            if stop:
                break
            if msg.error() is not None:
                line(f"E {time.monotonic_ns()} consume {msg.error()}")
                continue
            if delay > 0:
                time.sleep(delay)
            p = msg.partition()
            line(f"R {p} {msg.offset()} {start} {time.monotonic_ns()}")
            processed[p] = msg.offset() + 1
        commit(consumer, list(processed))
    consumer.close()
    line(f"X {time.monotonic_ns()} 0")
    os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
