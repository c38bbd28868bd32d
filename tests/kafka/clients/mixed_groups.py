#!/usr/bin/python3
"""One consumer group, two front doors: a kafka-python member (Kafka wire protocol) and a
`ferryctl consume -g` member (gRPC) share a group, in both orders.

  (a) mixA is created by kafka-python (KafkaConsumer(group_id=...), its default assignors
      range and roundrobin, so the group uses range); ferryctl joins naming no assignor.
  (b) mixB is created by ferryctl (sticky); kafka-python joins.

In each: the first member consumes a backlog alone; within 6 s of the second's start both
hold partitions, split exclusively (DescribeGroup over gRPC, and the Kafka member's own assign
callbacks), and the group never showed a third member id (a member that rejoined under a new
id, leaving its old one to its session timeout); records published while both run are each consumed exactly once across the
two, each by the member that holds its partition; then the Kafka member commits and closes
(LeaveGroup) and ferryctl takes over its partitions: it holds them all, starts each exactly at
the Kafka member's last commit, only after the Kafka member's last record of that partition,
and consumes every record published afterwards. No offset is skipped, and none is consumed
twice (every hand-over is graceful: the old owner commits before it lets go).

The Kafka member is a separate process (this script in member mode) with kafka-python's
default session, heartbeat and max.poll timings; it processes each record for 1.5 ms, logs
its processing interval (CLOCK_MONOTONIC), commits what it processed every second, in its
revoke callback and before it closes. ferryctl prints `%p %o`; the test stamps each line with
the monotonic time it read it.
"""

import json
import os
import signal
import sys
import tempfile
import threading
import time

from kafka_test_lib import (FERRY_BROKER, FERRYCTL, KAFKA_BOOTSTRAP, Child, TestFailure, check,
                            ferryctl, ferryd_log, grpc_stubs, main, wait_for)

PARTITIONS = 4
PER_PHASE = 10  # records per partition in each phase
PROCESS_S = 0.0015
COMMIT_EVERY_S = 1.0
# From the second member's start to both holding partitions: kafka-python learns of a
# rebalance at its next heartbeat (every 3 s) and rejoins; 6 s is two heartbeats, well under
# its session timeout (10 s), after which a member that lost its identity would be dropped.
SPLIT_BOUND_S = 6.0


# --- member mode: the kafka-python member ----------------------------------------------------

def kafka_member(topic, group, name):
    """stdout: one JSON event per line: subscribe, assign, revoke, rec (partition, offset,
    processing interval), commit_failed, closing, closed. Closes (commit, LeaveGroup) when a
    line (or EOF) arrives on stdin."""
    from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition
    from kafka.errors import KafkaError

    processed = {}  # partition -> next offset, for what the app finished

    def emit(event, **fields):
        print(json.dumps({"ev": event, "t": time.monotonic_ns(), **fields}), flush=True)

    def commit(partitions, why):
        offsets = {TopicPartition(topic, p): OffsetAndMetadata(processed[p], "")
                   for p in sorted(partitions) if p in processed}
        if not offsets:
            return
        try:
            consumer.commit(offsets)
        except KafkaError as e:
            emit("commit_failed", why=why, error=repr(e),
                 offsets={tp.partition: om.offset for tp, om in offsets.items()})

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            parts = sorted(tp.partition for tp in revoked)
            commit(parts, "revoke")
            for p in parts:
                processed.pop(p, None)
            emit("revoke", parts=parts)

        def on_partitions_assigned(self, assigned):
            emit("assign", parts=sorted(tp.partition for tp in assigned))

    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    consumer = KafkaConsumer(bootstrap_servers=KAFKA_BOOTSTRAP, group_id=group, client_id=name,
                             enable_auto_commit=False, auto_offset_reset="earliest")
    emit("subscribe")
    consumer.subscribe([topic], listener=Listener())
    last_commit = time.monotonic()
    while not stop.is_set():
        batches = consumer.poll(timeout_ms=100)
        returned = time.monotonic_ns()
        for tp, messages in batches.items():
            for m in messages:
                time.sleep(PROCESS_S)
                emit("rec", p=m.partition, o=m.offset, start=returned, end=time.monotonic_ns())
                processed[m.partition] = m.offset + 1
        if time.monotonic() - last_commit >= COMMIT_EVERY_S:
            commit({tp.partition for tp in consumer.assignment()}, "routine")
            last_commit = time.monotonic()
    emit("closing")
    # kafka-python's close() calls no revoke callback: commit first, then leave.
    commit({tp.partition for tp in consumer.assignment()}, "close")
    emit("committed", offsets=processed)
    consumer.close(autocommit=False)
    emit("closed")


# --- the test ------------------------------------------------------------------------------

class KafkaMember:
    def __init__(self, name, topic, group, work):
        self.name = name
        self.child = Child(name, [sys.executable, "-u", os.path.abspath(__file__), "member",
                                  topic, group, name], os.path.join(work, f"{name}.stderr"))

    def events(self, kind=None):
        out = []
        for _, line in self.child.lines():
            try:
                e = json.loads(line)
            except ValueError:
                raise TestFailure(f"{self.name} printed {line!r}")
            if kind is None or e["ev"] == kind:
                out.append(e)
        return out

    def owned(self):
        owned = set()
        for e in self.events():
            if e["ev"] == "assign":
                owned = set(e["parts"])  # kafka-python is eager: the whole assignment
            elif e["ev"] == "revoke":
                owned -= set(e["parts"])
        return owned

    def records(self):
        """[(partition, offset, start_ns, end_ns)]"""
        return [(e["p"], e["o"], e["start"], e["end"]) for e in self.events("rec")]

    def close(self):
        self.child.send("close")
        rc = self.child.wait(30)
        check(rc == 0, f"{self.name} exited {rc}: {self.child.stderr_tail()}")
        check(self.events("closed"), f"{self.name} exited without closing its consumer")


class FerryctlMember:
    def __init__(self, name, topic, group, work):
        self.name = name
        self.child = Child(name, [FERRYCTL, "--broker", FERRY_BROKER, "consume", topic, "-g",
                                  group, "-o", "earliest", "-f", r"%p %o\n"],
                           os.path.join(work, f"{name}.stderr"))

    def records(self):
        """[(partition, offset, time the test read the line)]"""
        out = []
        for t, line in self.child.lines():
            fields = line.split()
            if len(fields) != 2:
                raise TestFailure(f"{self.name} printed {line!r}")
            out.append((int(fields[0]), int(fields[1]), t))
        return out

    def close(self):
        # Ctrl-C: ferryctl commits what it printed and leaves the group.
        self.child.proc.send_signal(signal.SIGINT)
        rc = self.child.wait(30)
        check(rc == 0, f"{self.name} exited {rc}: {self.child.stderr_tail()}")


def run_case(label, group, kafka_first, work, stubs):
    _, _, admin, pb = stubs
    topic = f"mix-{group}"
    ferryctl("topic", "create", topic, "-p", str(PARTITIONS))
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, max_block_ms=20000)
    end = [0] * PARTITIONS
    t0 = time.monotonic()

    def say(text):
        print(f"[{label} +{time.monotonic() - t0:5.1f} s] {text}")

    def publish(per_partition):
        """per_partition records to every partition; their (partition, offset)s."""
        futures = [producer.send(topic, value=f"{group}-{p}-{end[p] + i}".encode(), partition=p)
                   for i in range(per_partition) for p in range(PARTITIONS)]
        producer.flush(timeout=20)
        out = set()
        for f in futures:
            md = f.get(timeout=20)
            out.add((md.partition, md.offset))
            end[md.partition] = max(end[md.partition], md.offset + 1)
        return out

    def describe():
        return admin.DescribeGroup(pb.DescribeGroupRequest(group=group), timeout=10)

    def describe_text():
        try:
            return ferryctl("group", "describe", group)
        except TestFailure as e:
            return str(e)

    member_ids = set()  # every member id DescribeGroup showed

    def assignments():
        """[set of partitions] per member, when the group is stable."""
        d = describe()
        member_ids.update(m.member_id for m in d.members)
        if d.state != pb.GROUP_STATE_STABLE:
            return None
        return [{tp.partition for tp in m.assignment} for m in d.members]

    kafka = ferry = None
    try:
        backlog = publish(PER_PHASE)
        if kafka_first:
            kafka = KafkaMember(f"kp-{group}", topic, group, work)
            first = kafka
        else:
            ferry = FerryctlMember(f"ferryctl-{group}", topic, group, work)
            first = ferry

        def seen_by(m):
            return {(r[0], r[1]) for r in m.records()} if m else set()

        wait_for(f"{first.name} to consume the backlog alone",
                 lambda: seen_by(first) >= backlog and assignments() == [set(range(PARTITIONS))],
                 timeout=30)
        say(f"{first.name} alone consumed the backlog of {len(backlog)} records")

        if kafka_first:
            ferry = FerryctlMember(f"ferryctl-{group}", topic, group, work)
        else:
            kafka = KafkaMember(f"kp-{group}", topic, group, work)
        second_started = time.monotonic()

        def split():
            a = assignments()
            if a is None or len(a) != 2 or not all(a) or a[0] & a[1]:
                return None
            if a[0] | a[1] != set(range(PARTITIONS)):
                return None
            k = kafka.owned()
            if k not in a:
                return None  # the Kafka member has not taken its assignment yet
            return k, (a[0] | a[1]) - k

        try:
            kafka_parts, ferry_parts = wait_for(
                "both members to hold partitions, split between them", split, timeout=30)
        except TestFailure:
            say(f"no split; ferryctl group describe {group}:\n{describe_text()}")
            raise
        split_s = time.monotonic() - second_started
        say(f"both members hold partitions {split_s:.1f} s after the second started: "
            f"{kafka.name} {sorted(kafka_parts)}, {ferry.name} {sorted(ferry_parts)}; member ids "
            f"seen: {sorted(member_ids)}")
        check(len(member_ids) == 2,
              f"{label}: two members, but DescribeGroup showed {len(member_ids)} member ids "
              f"{sorted(member_ids)} (a member rejoined under a new id, leaving its old one to "
              f"time out)")
        check(split_s <= SPLIT_BOUND_S,
              f"{label}: both members held partitions only {split_s:.1f} s after the second "
              f"started (bound {SPLIT_BOUND_S:.0f} s)")

        # Both running: each record exactly once, by the member holding its partition.
        k_before, f_before = len(kafka.records()), len(ferry.records())
        both = publish(PER_PHASE)
        wait_for("the records published while both run to be consumed",
                 lambda: (seen_by(kafka) | seen_by(ferry)) >= both, timeout=30)
        k_got = [(r[0], r[1]) for r in kafka.records()[k_before:] if (r[0], r[1]) in both]
        f_got = [(r[0], r[1]) for r in ferry.records()[f_before:] if (r[0], r[1]) in both]
        counts = {}
        for pos in k_got + f_got:
            counts[pos] = counts.get(pos, 0) + 1
        twice = sorted(pos for pos, n in counts.items() if n > 1)
        check(not twice, f"{label}: records published while both ran were consumed more than "
              f"once: {len(twice)} (partition, offset), first {twice[:5]}")
        wrong = [pos for pos in k_got if pos[0] not in kafka_parts] + \
                [pos for pos in f_got if pos[0] not in ferry_parts]
        check(not wrong, f"{label}: records consumed by the member not holding their partition: "
              f"{wrong[:5]}")
        check(assignments() in ([kafka_parts, ferry_parts], [ferry_parts, kafka_parts]),
              f"{label}: the assignment changed while both ran:\n{describe_text()}")
        say(f"{len(both)} records published while both ran: {len(k_got)} to {kafka.name}, "
            f"{len(f_got)} to {ferry.name}, each once")

        # The Kafka member commits and leaves; ferryctl takes over its partitions.
        kafka.close()
        closed = time.monotonic()
        committed = {int(p): o for p, o in kafka.events("committed")[-1]["offsets"].items()}
        try:
            wait_for(f"{ferry.name} to hold every partition",
                     lambda: assignments() == [set(range(PARTITIONS))], timeout=30)
        except TestFailure:
            say(f"no take-over; ferryctl group describe {group}:\n{describe_text()}")
            raise
        say(f"{kafka.name} closed; {ferry.name} holds every partition "
            f"{time.monotonic() - closed:.1f} s later")
        after = publish(PER_PHASE)
        wait_for(f"{ferry.name} to consume the records published after the take-over",
                 lambda: seen_by(ferry) >= after, timeout=30)
        say(f"{ferry.name} consumed the {len(after)} records published after the take-over")

        # Exclusive hand-over of each of the Kafka member's partitions.
        k_recs = kafka.records()
        f_recs = ferry.records()
        for p in sorted(kafka_parts):
            k_from = max(e["t"] for e in kafka.events("assign") if p in e["parts"])
            k_last = max((r for r in k_recs if r[0] == p), key=lambda r: r[3], default=None)
            check(k_last, f"{label}: {kafka.name} consumed nothing of its partition {p}")
            # ferryctl's records of p since the Kafka member was given p.
            f_after = sorted((r for r in f_recs if r[0] == p and r[2] > k_from),
                             key=lambda r: r[2])
            check(f_after, f"{label}: {ferry.name} consumed nothing of partition {p} after "
                  f"{kafka.name} left")
            check(f_after[0][1] == committed.get(p, 0),
                  f"{label}: {ferry.name} took partition {p} over at offset {f_after[0][1]}; "
                  f"{kafka.name} had committed {committed.get(p)}")
            # The test reads a line after ferryctl printed it: reading it before the Kafka
            # member finished its last record of p proves both worked on p at once.
            check(f_after[0][2] > k_last[3],
                  f"{label}: {ferry.name} printed offset {f_after[0][1]} of partition {p} "
                  f"{(k_last[3] - f_after[0][2]) / 1e6:.1f} ms before {kafka.name} finished "
                  f"offset {k_last[1]}")
        # Nothing skipped.
        everything = seen_by(kafka) | seen_by(ferry)
        missing = sorted({(p, o) for p in range(PARTITIONS) for o in range(end[p])} - everything)
        check(not missing, f"{label}: offsets never consumed: {len(missing)}, first "
              f"{missing[:5]}")
        # Every hand-over here is graceful (the old owner commits what it consumed before it
        # lets go), so each new owner starts at the old one's commit: nothing is consumed twice.
        consumed = [(r[0], r[1]) for r in kafka.records()] + \
                   [(r[0], r[1]) for r in ferry.records()]
        twice = sorted({pos for pos in consumed if consumed.count(pos) > 1})
        check(not twice, f"{label}: records consumed more than once over the run: {len(twice)} "
              f"(partition, offset), first {twice[:5]}")
        ferry.close()
        say(f"{ferry.name} stopped; {sum(end)} records in all, none skipped, none twice")
    except TestFailure:
        events = [line for line in ferryd_log().splitlines() if f"group={group} " in line]
        print(f"--- ferryd's group events of {group} (the last 40 of {len(events)}):")
        print("\n".join(events[-40:]))
        if kafka is not None:
            print(f"--- {kafka.name} events but records: "
                  f"{[e for e in kafka.events() if e['ev'] != 'rec']}")
        for m in (kafka, ferry):
            if m is not None:
                print(f"--- {m.name} stderr:\n{m.child.stderr_tail()}")
        raise
    finally:
        producer.close(timeout=10)
        for m in (kafka, ferry):
            if m is not None:
                m.child.kill()


def test():
    stubs = grpc_stubs()
    failures = []
    with tempfile.TemporaryDirectory() as work:
        # Each case has its own topic and group: one failing does not hide the other.
        for label, group, kafka_first in [
                ("(a) Kafka-created group joined by ferryctl", "mixA", True),
                ("(b) gRPC-created group joined by kafka-python", "mixB", False)]:
            try:
                run_case(label, group, kafka_first, work, stubs)
            except TestFailure as e:
                print(f"FAILED: {e}")
                failures.append(str(e))
    if failures:
        raise TestFailure(" | ".join(failures))


if __name__ == "__main__":
    if sys.argv[1:2] == ["member"]:
        kafka_member(*sys.argv[2:5])
    else:
        main(test)
