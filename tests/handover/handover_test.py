#!/usr/bin/python3
"""The randomized hand-over test: each partition of a topic is processed by exactly one member
of a group at any moment, through rebalances, on the gRPC door and on the Kafka door.

For every seed it starts its own ferryd (gRPC and, for --door=kafka, Kafka listeners on free
ports of 127.0.0.1, a temp data dir), creates a topic of 6-8 partitions with a stored backlog,
starts 2-4 group members a little apart (ferry_handover_member on the C++ client library, or
kafka_member.py on confluent-kafka), and plays a schedule drawn from random.Random(seed): joins,
graceful leaves (SIGTERM), kill -9, and stalls (SIGSTOP for longer than the member's rebalance
timeout while a join, or a leave, triggers a rebalance; then SIGCONT), each event right after a
burst of records, while a publisher (`ferryctl produce`) keeps publishing. Then the live members
drain the topic (the condition: every offset processed, and committed, with deadlines), leave,
and the checker reads every member's log. The seed fixes the schedule; which member an event
hits is drawn from the seed among the members alive then (a stall hits one of those owning the
most partitions, from their logs).

Member logs (tests/tools/handover_member.cc): R <p> <offset> <start_ns> <end_ns> per record
processed (start: when Poll/consume returned the batch; end: when the record was done),
C <p> <offset> <ns> per accepted commit, A/V <ns> <partitions> per on_assign and on_revoke (or
on_lost). Times are CLOCK_MONOTONIC, comparable across the processes. A record's processing
interval is [start, end]. The test notes when it sent SIGSTOP (stop, taken just before kill())
and SIGCONT (cont, just after), and when it sent kill -9.

Epoch: member M's ownership of partition p, from an A line naming p to the next V line naming p
(or the end of its log).

THE RULES (exact: they hold for any interleaving if the protocol is right)

1. Exclusive ownership. For each partition, no two processing intervals of different members
   overlap (share more than an end point). The only exemption: intervals of a stalled member S
   on p that touch the stall or follow it until S learned where it stands, namely intervals
     - in an epoch of p that S held at stop, or that S's client opened after cont but before S
       knew whether it was still in the group (before its first accepted commit since cont,
       and before the first moment since cont at which it owns nothing): an assignment still
       queued in its client,
     - with end >= stop, and
     - with start <= learned(S, p), the first of, at or after cont: S's V line naming p (it is
       told p is revoked or lost) or S's C line for p of a commit asked for at or after cont
       (an accepted commit: it still owns p, and from then on its intervals count again; a
       commit asked for before the stop and answered while S was frozen proves nothing).
   Why: a member stalled past its rebalance timeout is removed and its partitions move while it
   is frozen in the middle of a batch; it finishes that batch when it resumes, and its client
   may still hand it records queued before the removal until it reads the removal. That work is
   not protected by the protocol (its commits are fenced). Nothing else is exempt: not a killed
   member (it cannot process after its death), not a member that left, not a slow one, not the
   other member of a pair unless the stalled one is in it.

2. Nothing skipped. Every offset of every partition from 0 to its end offset (from the broker,
   once the publisher finished) was processed at least once.

3. Duplicates only from allowed windows. A processing of (p, o) by member M is excused when
     - M was killed with -9, the processing lies in M's epoch of p open at the kill, and
       o >= the last offset M logged as committed for p (a commit acknowledged but not logged
       when the kill came only widens the window; it never excuses a wrong duplicate), or
     - M was stalled, the processing lies in a stall epoch of rule 1 with start <=
       learned(M, p), and o >= the last offset M logged as committed for p before
       learned(M, p).
   Each (p, o) may be processed at most ONCE outside those windows: a graceful join or leave
   causes no duplicate, and a death or a stall only duplicates the uncommitted records of the
   member that died or stalled.

Also: every member the test did not kill exits 0 on SIGTERM with a complete log; no member dies
by itself; the topic holds exactly what was published; and a member not stalled never spends
more than 80% of its rebalance timeout on one batch (else the run is INVALID: a slow member may
lawfully lose its partitions; the workload is sized so this does not happen).

On failure it prints the seed, the schedule as played (ms since the seed's start), the first
violations (partition, members, offsets, intervals), the members ferryd removed, and ferryd's
group log lines, and keeps the seed's directory (logs of ferryd and of every member).

  handover_test.py --door grpc|kafka --seeds 1,2,3 --ferryd PATH --ferryctl PATH
      [--member PATH] [--kafka-member PATH] [--assignor range|roundrobin|cooperative-sticky]
      [--keep] [--verbose] [--workdir DIR]
"""

import argparse
import bisect
import datetime
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

PYTHON = "/usr/bin/python3"  # Debian's: it has confluent_kafka (TOOLCHAIN.md)
HERE = os.path.dirname(os.path.abspath(__file__))

# Timing of the members and the broker. The rebalance timeout is the gRPC members'
# --group-revoke-grace-ms (and ConsumerOptions::rebalance_timeout when the client has it) and
# the Kafka members' max.poll.interval.ms.
SESSION_MS = 1500
REBALANCE_MS = 2000
HEARTBEAT_MS = 250
KAFKA_BATCH = 50
# The workload per door. A gRPC member's Poll hands out everything its client has queued (up
# to about 10000 records) and the client stops reading its stream when that queue is full; a
# partition revoked while records wait in the stream ahead of the revocation is where a
# hand-over goes wrong, so the gRPC members get a backlog several times that, records that cost
# little (spinning: too short to sleep) so that even a full queue is processed well within the
# rebalance timeout. Kafka members take --batch records per consume().
WORKLOAD = {
    "grpc": {"backlog": (30000, 40000), "bursts": [0, 2000, 5000, 10000],
             "stall_burst": (5000, 10000), "rate": [500, 1000, 2000],
             "process_us": 30, "process_mode": "busy"},
    "kafka": {"backlog": (1500, 3000), "bursts": [0, 300, 600, 1000],
              "stall_burst": (500, 1200), "rate": [200, 300, 400],
              "process_us": 300, "process_mode": "sleep"},
}
MAX_LIVE = 6
DRAIN_TIMEOUT_S = 60.0   # at most, for the drain; and
STUCK_TIMEOUT_S = 8.0    # when no new offset was processed for this long
EXIT_TIMEOUT_S = 15.0


class SetupError(Exception):
    """The test could not run (a process would not start, a condition timed out)."""


def now_ns():
    return time.monotonic_ns()


def wait_for(what, condition, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SetupError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def spawn(cmd, log_path, stdin=subprocess.DEVNULL):
    """Starts cmd with its output in log_path; it gets SIGKILL should this process die."""
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(["setpriv", "--pdeathsig", "KILL", "--", *cmd], stdin=stdin,
                                stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


# ---------------------------------------------------------------------------------------------
# ferryd, ferryctl, the publisher

class Ferryd:
    def __init__(self, binary, workdir, kafka, extra_flags=()):
        self.dir = workdir
        self.log_path = os.path.join(workdir, "ferryd.log")
        port_file = os.path.join(workdir, "port")
        kafka_port_file = os.path.join(workdir, "kafka-port")
        cmd = [binary, "--listen=127.0.0.1:0", f"--port-file={port_file}",
               f"--data-dir={os.path.join(workdir, 'data')}", "--metrics-listen=",
               f"--group-revoke-grace-ms={REBALANCE_MS}",
               f"--group-min-session-timeout-ms={min(SESSION_MS, 500)}"]
        if kafka:
            cmd += ["--kafka-listen=127.0.0.1:0", f"--kafka-port-file={kafka_port_file}"]
        else:
            cmd += ["--kafka-listen="]
        cmd += list(extra_flags)
        self.proc = spawn(cmd, self.log_path)

        def ready():
            if self.proc.poll() is not None:
                raise SetupError(f"ferryd exited with {self.proc.returncode} during start-up:\n"
                                 + self.log_text()[-3000:])
            if not (os.path.exists(port_file) and os.path.getsize(port_file) > 0):
                return False
            if kafka and not (os.path.exists(kafka_port_file)
                              and os.path.getsize(kafka_port_file) > 0):
                return False
            return "event=serving" in self.log_text()
        wait_for("ferryd to serve", ready, 20)
        self.broker = "127.0.0.1:" + open(port_file).read().strip()
        self.kafka = ("127.0.0.1:" + open(kafka_port_file).read().strip()) if kafka else None

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        """SIGTERM; returns the exit code (None when it had to be killed)."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def ferryctl(args, *cmd, input=None):
    proc = subprocess.run([args.ferryctl, "--broker", args.broker_addr, *cmd], input=input,
                          capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise SetupError(f"ferryctl {' '.join(cmd)} exited {proc.returncode}: "
                         f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode()


def group_offsets(args, group):
    """{partition: (committed or None, end)} from `ferryctl group describe`."""
    out = ferryctl(args, "group", "describe", group)
    rows = {}
    for line in out.splitlines()[2:]:
        f = line.split()
        if len(f) < 5 or not f[1].isdigit():
            continue
        committed = None if f[-3] == "-" else int(f[-3])
        rows[int(f[1])] = (committed, int(f[-2]))
    return rows


class Publisher:
    """`ferryctl produce` fed keyed lines at a steady rate from a thread, until stop()."""

    def __init__(self, args, workdir, topic, rate, first_key):
        self.proc = spawn([args.ferryctl, "--broker", args.broker_addr, "produce", topic, "-K",
                           ":"], os.path.join(workdir, "publisher.log"), stdin=subprocess.PIPE)
        self.rate = rate
        self.next_key = first_key
        self.sent = 0
        self.done = threading.Event()
        self.error = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def write(self, count):
        with self.lock:
            lines = "".join(f"k{self.next_key + i}:v{self.next_key + i}\n" for i in range(count))
            self.proc.stdin.write(lines.encode())
            self.proc.stdin.flush()
            self.next_key += count
            self.sent += count

    def burst(self, count):
        """Publishes `count` records at once (the members get busy)."""
        try:
            self.write(count)
        except OSError as e:
            self.error = f"publisher: {e}"

    def run(self):
        begin = time.monotonic()
        steady = 0
        try:
            while not self.done.wait(0.05):  # the publishing pace is the workload
                due = int((time.monotonic() - begin) * self.rate) - steady
                if due > 0:
                    self.write(due)
                    steady += due
        except OSError as e:
            self.error = f"publisher: {e}"

    def stop(self):
        self.done.set()
        self.thread.join(10)
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        if self.error is None and rc != 0:
            self.error = f"ferryctl produce exited {rc}"
        return self.error


# ---------------------------------------------------------------------------------------------
# Members

class Member:
    def __init__(self, name, args, workdir, group, topic):
        self.name = name
        self.out = os.path.join(workdir, f"{name}.out")
        self.err = os.path.join(workdir, f"{name}.log")
        self.killed_ns = None     # kill -9
        self.term_ns = None       # SIGTERM (graceful leave)
        self.stalls = []          # [(stop_ns, cont_ns)]
        self.stopped_ns = None    # SIGSTOP sent, SIGCONT not yet
        if args.door == "grpc":
            cmd = [args.member, f"--broker={args.broker_addr}", f"--group={group}",
                   f"--topic={topic}", f"--out={self.out}", f"--session-timeout-ms={SESSION_MS}",
                   f"--rebalance-timeout-ms={REBALANCE_MS}",
                   f"--process-us={WORKLOAD['grpc']['process_us']}",
                   f"--process-mode={WORKLOAD['grpc']['process_mode']}"]
        else:
            cmd = [PYTHON, "-u", args.kafka_member, f"--broker={args.kafka_addr}",
                   f"--group={group}", f"--topic={topic}", f"--out={self.out}",
                   f"--session-timeout-ms={SESSION_MS}", f"--rebalance-timeout-ms={REBALANCE_MS}",
                   f"--heartbeat-ms={HEARTBEAT_MS}",
                   f"--process-us={WORKLOAD['kafka']['process_us']}",
                   f"--batch={KAFKA_BATCH}", f"--assignor={args.assignor}"]
        self.tail = LogTail(self.out)
        self.started_ns = now_ns()
        self.proc = spawn(cmd, self.err)

    @property
    def live(self):
        """Neither killed nor told to leave (it may be stalled)."""
        return self.killed_ns is None and self.term_ns is None

    def kill9(self):
        self.killed_ns = now_ns()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def term(self):
        self.term_ns = now_ns()
        self.proc.send_signal(signal.SIGTERM)

    def sigstop(self):
        self.stopped_ns = now_ns()
        self.proc.send_signal(signal.SIGSTOP)

    def sigcont(self):
        self.proc.send_signal(signal.SIGCONT)
        self.stalls.append((self.stopped_ns, now_ns()))
        self.stopped_ns = None

    def owned(self):
        """Partitions its log says it owns now."""
        return set(self.tail.refresh().owned)

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


# ---------------------------------------------------------------------------------------------
# Logs

class MemberLog:
    def __init__(self):
        self.records = []    # (p, o, start, end)
        self.commits = []    # (p, o, ns, sent_ns): accepted at ns, asked for at sent_ns
        self.callbacks = []  # ("A"|"V", ns, [p])
        self.errors = []     # (ns, text)
        self.exit = None     # (ns, code)
        self.truncated = False
        self.malformed = []


def parse_log(path):
    log = MemberLog()
    try:
        with open(path, "rb") as f:
            data = f.read().decode(errors="replace")
    except FileNotFoundError:
        return log
    if data and not data.endswith("\n"):
        log.truncated = True
        data = data[:data.rfind("\n") + 1]
    parse_lines(log, data.splitlines())
    return log


def parse_lines(log, lines):
    for line in lines:
        f = line.split(" ")
        try:
            if f[0] == "R" and len(f) == 5:
                log.records.append((int(f[1]), int(f[2]), int(f[3]), int(f[4])))
            elif f[0] == "C" and len(f) in (4, 5):
                ns = int(f[3])
                log.commits.append((int(f[1]), int(f[2]), ns, int(f[4]) if len(f) == 5 else ns))
            elif f[0] in ("A", "V") and len(f) >= 3:
                parts = [] if f[2] == "-" else [int(x) for x in f[2].split(",")]
                log.callbacks.append((f[0], int(f[1]), parts))
            elif f[0] == "E":
                log.errors.append((int(f[1]), " ".join(f[2:])))
            elif f[0] == "X":
                log.exit = (int(f[1]), int(f[2]))
            elif f[0] == "S":
                pass
            else:
                log.malformed.append(line)
        except (ValueError, IndexError):
            log.malformed.append(line)


class LogTail:
    """Follows a member's log as it grows: what it owns now and which offsets it processed."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.owned = set()
        self.done = {}  # partition -> set of offsets

    def refresh(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return self
        end = data.rfind(b"\n") + 1
        self.pos += end
        log = MemberLog()
        parse_lines(log, data[:end].decode(errors="replace").splitlines())
        for p, o, _, _ in log.records:
            self.done.setdefault(p, set()).add(o)
        for kind, _, parts in log.callbacks:
            if kind == "A":
                self.owned |= set(parts)
            else:
                self.owned -= set(parts)
        return self


def epochs(log, p):
    """[(begin, end)] of the member's ownership of p: A naming p .. next V naming p."""
    out = []
    begin = None
    for kind, ns, parts in sorted(log.callbacks, key=lambda c: c[1]):
        if p not in parts:
            continue
        if kind == "A" and begin is None:
            begin = ns
        elif kind == "V" and begin is not None:
            out.append((begin, ns))
            begin = None
    if begin is not None:
        out.append((begin, float("inf")))
    return out


def epoch_at(eps, t):
    for b, e in eps:
        if b <= t <= e:
            return (b, e)
    return None


# ---------------------------------------------------------------------------------------------
# The checker

class Checker:
    """Applies the rules of the module docstring to the members' logs."""

    def __init__(self, members, logs, ends, t0):
        self.members = members  # name -> Member
        self.logs = logs        # name -> MemberLog
        self.ends = ends        # partition -> end offset
        self.t0 = t0
        self.violations = []
        self.stats = {"records": 0, "duplicates": 0, "exempt_overlaps": 0}
        # (member, p) -> stall windows [(epoch, stop, learned, last commit before it, cont)]
        self.stall_windows = {}
        self.kill_windows = {}  # (member, p) -> (epoch, last_commit)
        for name, m in members.items():
            log = logs[name]
            for p in ends:
                eps = epochs(log, p)
                commits = sorted((ns, o, sent) for q, o, ns, sent in log.commits if q == p)
                if m.killed_ns is not None:
                    ep = epoch_at(eps, m.killed_ns)
                    if ep is not None:
                        # its last logged commit of p (all of them precede the kill)
                        last = commits[-1][1] if commits else -1
                        self.kill_windows[(name, p)] = (ep, last)
                for stop, cont in m.stalls:
                    # The epoch of p open at the stop, and epochs of p that an assignment
                    # still queued in the member's client opened after the SIGCONT, before the
                    # member knew whether it was still in the group (see stale_bound).
                    held = [ep for ep in [epoch_at(eps, stop)] if ep is not None]
                    bound = self.stale_bound(log, cont)
                    held += [ep for ep in eps if cont <= ep[0] <= bound]
                    if not held:
                        continue
                    learned = float("inf")
                    for kind, ns, parts in log.callbacks:
                        if kind == "V" and p in parts and ns >= cont:
                            learned = min(learned, ns)
                    # A commit asked for after the SIGCONT: one asked for before it and
                    # answered while the member was frozen proves nothing about now.
                    for ns, o, sent in commits:
                        if sent >= cont:
                            learned = min(learned, ns)
                            break
                    # its last commit of p before it learned, in time
                    before = [o for ns, o, _ in commits if ns < learned]
                    last = before[-1] if before else -1
                    for ep in held:
                        self.stall_windows.setdefault((name, p), []).append(
                            (ep, stop, learned, last, cont))

    @staticmethod
    def stale_bound(log, cont):
        """When a member resumed at `cont` first knew where it stands: its first accepted
        commit since (it is still in the group), or the first moment since at which it owns
        nothing (its partitions were revoked or lost)."""
        bound = min((ns for _, _, ns, sent in log.commits if sent >= cont),
                    default=float("inf"))
        owned = set()
        for kind, ns, parts in sorted(log.callbacks, key=lambda c: c[1]):
            if kind == "A":
                owned |= set(parts)
            else:
                owned -= set(parts)
                if ns >= cont and not owned:
                    return min(bound, ns)
        return bound

    def rel(self, ns):
        if ns == float("inf"):
            return "inf"
        return f"{(ns - self.t0) / 1e6:.1f}ms"

    def overlap_exempt(self, name, p, start, end):
        for ep, stop, learned, _, _ in self.stall_windows.get((name, p), []):
            if ep[0] <= start <= ep[1] and end >= stop and start <= learned:
                return True
        return False

    def excused(self, name, p, o, start):
        kw = self.kill_windows.get((name, p))
        if kw is not None:
            ep, last = kw
            if ep[0] <= start <= ep[1] and o >= last:
                return True
        for ep, stop, learned, last, _ in self.stall_windows.get((name, p), []):
            if ep[0] <= start <= ep[1] and start <= learned and o >= last:
                return True
        return False

    def check(self):
        by_partition = {p: [] for p in self.ends}
        for name, log in self.logs.items():
            for p, o, start, end in log.records:
                if p not in by_partition:
                    self.violations.append(f"{name} processed partition {p}, which the topic "
                                           f"does not have")
                    continue
                by_partition[p].append((o, start, end, name))
                self.stats["records"] += 1
        for p in sorted(by_partition):
            self.check_exclusive(p, by_partition[p])
            self.check_offsets(p, by_partition[p])

    def check_exclusive(self, p, recs):
        # Batches: the records of one member sharing a start (one Poll) on p. Two records
        # (s1, e1) and (s2, e2) of batches g1, g2 of different members overlap iff
        # s1 < e2 and s2 < e1: the records of g1 ending after s2 against the records of g2
        # ending after s1.
        batches = {}
        for o, start, end, name in recs:
            batches.setdefault((name, start), []).append((end, o))
        groups = []
        for (name, start), items in batches.items():
            items.sort()
            plain = [(e, o) for e, o in items if not self.overlap_exempt(name, p, start, e)]
            groups.append((start, items[-1][0], name, items, plain))
        groups.sort()
        starts = [g[0] for g in groups]
        reported = 0
        for i, (s1, e1, n1, items1, plain1) in enumerate(groups):
            j = i + 1
            hi = bisect.bisect_left(starts, e1)
            for j in range(i + 1, hi):
                s2, e2, n2, items2, plain2 = groups[j]
                if n2 == n1 or not s2 < e1:
                    continue
                # overlapping pairs: g1 records ending after s2, all g2 records (s1 <= s2 < e2)
                over1 = [(e, o) for e, o in items1 if e > s2]
                if not over1:
                    continue
                bad1 = [(e, o) for e, o in plain1 if e > s2]
                bad2 = plain2 if bad1 else []
                if bad1 and bad2:
                    if reported < 5:
                        self.violations.append(
                            f"OVERLAP partition {p}: {n1} processed offsets "
                            f"{bad1[0][1]}..{bad1[-1][1]} in [{self.rel(s1)}, "
                            f"{self.rel(bad1[-1][0])}] while {n2} processed offsets "
                            f"{bad2[0][1]}..{bad2[-1][1]} in [{self.rel(s2)}, "
                            f"{self.rel(bad2[-1][0])}]; overlap "
                            f"{(min(bad1[-1][0], bad2[-1][0]) - s2) / 1e6:.1f} ms")
                    reported += 1
                else:
                    self.stats["exempt_overlaps"] += 1
        if reported > 5:
            self.violations.append(f"OVERLAP partition {p}: {reported - 5} more overlapping "
                                   f"batch pairs")

    def check_offsets(self, p, recs):
        end = self.ends[p]
        seen = {}
        for o, start, e, name in recs:
            seen.setdefault(o, []).append((start, e, name))
        missing = [o for o in range(end) if o not in seen]
        if missing:
            self.violations.append(f"SKIPPED partition {p}: {len(missing)} of {end} offsets "
                                   f"never processed, first {missing[:10]}")
        beyond = [o for o in seen if o >= end or o < 0]
        if beyond:
            self.violations.append(f"partition {p}: offsets {sorted(beyond)[:5]} processed "
                                   f"but the end offset is {end}")
        bad = []
        for o in sorted(seen):
            events = seen[o]
            if len(events) < 2:
                continue
            self.stats["duplicates"] += len(events) - 1
            plain = [ev for ev in events if not self.excused(ev[2], p, o, ev[0])]
            if len(plain) > 1:
                bad.append((o, events, plain))
        if bad:
            o, events, plain = bad[0]
            desc = "; ".join(f"{n} [{self.rel(s)}, {self.rel(e)}]" for s, e, n in sorted(events))
            self.violations.append(
                f"DUPLICATE partition {p}: {len(bad)} offsets processed more than once outside "
                f"the windows of a killed or stalled member (offsets {bad[0][0]}..{bad[-1][0]}); "
                f"first: offset {o} by {desc}")


# ---------------------------------------------------------------------------------------------
# One seed

class Run:
    def __init__(self, args, seed):
        self.args = args
        self.seed = seed
        self.rng = random.Random(seed)
        self.members = {}
        self.order = []
        self.next_member = 1
        self.played = []  # (ns, text)
        self.group = f"g{seed}"
        self.topic = f"t{seed}"

    def note(self, text):
        self.played.append((now_ns(), text))

    def add_member(self):
        name = f"m{self.next_member}"
        self.next_member += 1
        self.members[name] = Member(name, self.args, self.workdir, self.group, self.topic)
        self.order.append(name)
        self.note(f"join {name}")
        return name

    def live(self, stalled_ok=False):
        return [n for n in self.order if self.members[n].live
                and (stalled_ok or self.members[n].stopped_ns is None)]

    def pick(self, names, selector):
        return names[min(int(selector * len(names)), len(names) - 1)]

    def plan(self):
        rng = self.rng
        w = WORKLOAD[self.args.door]
        self.partitions = rng.choice([6, 7, 8])
        self.backlog = rng.randint(*w["backlog"])
        self.rate = rng.choice(w["rate"])
        self.initial = rng.randint(2, 4)
        # The first members join this far apart: the first one takes the whole backlog on, and
        # the next ones take partitions from it while it is busy.
        self.stagger = [0] + [rng.uniform(0.05, 0.3) for _ in range(3)]
        kinds = ["join", "leave", "kill", "stall"]
        kinds += [rng.choice(["join", "leave", "kill", "stall"]) for _ in range(rng.randint(1, 3))]
        rng.shuffle(kinds)
        # (kind, pause before it, burst published right before it, delay from the burst to
        # the event (the members are in the middle of processing it), target selector,
        # stall: pause before the trigger, the trigger's kind, margin past the rebalance
        # timeout)
        self.steps = [(k, rng.uniform(0.3, 1.0),
                       rng.randint(*w["stall_burst"]) if k == "stall" else rng.choice(w["bursts"]),
                       rng.uniform(0.02, 0.15), rng.random(), rng.uniform(0.2, 0.5),
                       rng.choice(["join", "join", "leave"]), rng.uniform(0.5, 1.0))
                      for k in kinds]

    def describe_plan(self):
        return (f"seed {self.seed}: door {self.args.door}, {self.partitions} partitions, backlog "
                f"{self.backlog}, publishing {self.rate}/s, {self.initial} members, steps "
                + ", ".join(s[0] for s in self.steps))

    def do(self, kind, selector):
        live = self.live()
        if kind in ("leave", "kill") and len(live) < 2:
            kind = "join"
        if kind == "join" and len(self.live(stalled_ok=True)) >= MAX_LIVE:
            kind = "leave"
        if kind == "join":
            return self.add_member()
        name = self.pick(live, selector)
        m = self.members[name]
        if kind == "leave":
            m.term()
            self.note(f"leave {name} (SIGTERM)")
        else:
            m.kill9()
            self.note(f"kill -9 {name}")
        return name

    def stall(self, selector, pause, trigger, margin):
        live = self.live()
        loads = {n: len(self.members[n].owned()) for n in live}
        candidates = [n for n in live if loads[n] == max(loads.values()) and loads[n] > 0]
        if len(live) < 2 or not candidates:
            self.note("stall skipped: no member to stall")
            return self.do("join", selector)
        name = self.pick(candidates, selector)
        m = self.members[name]
        m.sigstop()
        self.note(f"SIGSTOP {name} (owns {sorted(m.owned())})")
        time.sleep(pause)  # schedule pause (workload), not synchronisation
        if trigger == "leave" and len(self.live()) < 2:
            trigger = "join"
        self.do(trigger, selector)
        trigger_ns = now_ns()
        time.sleep(REBALANCE_MS / 1000 + margin)  # the stall's length: past the rebalance timeout
        m.sigcont()
        stop, cont = m.stalls[-1]
        self.note(f"SIGCONT {name} (stopped {(cont - stop) / 1e6:.0f} ms, "
                  f"{(cont - trigger_ns) / 1e6:.0f} ms after the trigger)")

    def logs(self):
        return {n: parse_log(self.members[n].out) for n in self.order}

    def run(self):
        args = self.args
        self.workdir = tempfile.mkdtemp(prefix=f"handover-{args.door}-{self.seed}-",
                                        dir=args.workdir)
        self.plan()
        print(self.describe_plan(), flush=True)
        self.t0 = now_ns()
        self.wall0 = time.time_ns()
        ferryd = None
        publisher = None
        failures = []
        checker = None
        try:
            ferryd = Ferryd(args.ferryd, self.workdir, kafka=args.door == "kafka",
                            extra_flags=args.ferryd_flag)
            self.ferryd = ferryd
            args.broker_addr = ferryd.broker
            args.kafka_addr = ferryd.kafka
            ferryctl(args, "topic", "create", self.topic, "--partitions", str(self.partitions))
            backlog = "".join(f"k{i}:v{i}\n" for i in range(self.backlog))
            ferryctl(args, "produce", self.topic, "-K", ":", input=backlog.encode())
            self.note(f"backlog of {self.backlog} records stored")
            for i in range(self.initial):
                if i:
                    time.sleep(self.stagger[i])  # schedule: the next member joins later
                self.add_member()
            wait_for("the first members' assignments",
                     lambda: all(m.owned() or m.proc.poll() is not None
                                 for m in self.members.values()), 30)
            self.check_alive()
            publisher = Publisher(args, self.workdir, self.topic, self.rate, self.backlog)
            self.note(f"publishing {self.rate}/s")
            for kind, pause, burst, lead, selector, stall_pause, trigger, margin in self.steps:
                time.sleep(pause)  # the schedule's pause between events (workload)
                if burst:
                    publisher.burst(burst)
                    self.note(f"burst of {burst} records")
                    time.sleep(lead)  # the members start on it (workload)
                if kind == "stall":
                    self.stall(selector, stall_pause, trigger, margin)
                else:
                    self.do(kind, selector)
                self.check_alive()
            error = publisher.stop()
            self.note(f"publisher stopped ({publisher.sent} records published live)")
            if error:
                raise SetupError(error)
            ends = {}
            rows = group_offsets(args, self.group)
            for p in range(self.partitions):
                if p not in rows:
                    raise SetupError(f"group describe shows no row for partition {p}")
                ends[p] = rows[p][1]
            if sum(ends.values()) != self.backlog + publisher.sent:
                failures.append(f"the topic holds {sum(ends.values())} records; "
                                f"{self.backlog + publisher.sent} were published")

            progress = {"count": -1, "since": time.monotonic()}

            def drained():
                self.check_alive()
                done = {p: set() for p in ends}
                for m in self.members.values():
                    for p, offsets in m.tail.refresh().done.items():
                        done.setdefault(p, set()).update(offsets)
                count = sum(len(v) for v in done.values())
                if count != progress["count"]:
                    progress["count"], progress["since"] = count, time.monotonic()
                elif time.monotonic() - progress["since"] > STUCK_TIMEOUT_S:
                    missing = {p: ends[p] - len(done[p] & set(range(ends[p]))) for p in ends}
                    try:
                        described = ferryctl(args, "group", "describe", self.group)
                    except SetupError as e:
                        described = str(e)
                    raise SetupError(f"no new offset processed for {STUCK_TIMEOUT_S:.0f} s; "
                                     f"offsets still unprocessed per partition: {missing}; "
                                     f"ferryctl group describe:\n{described}")
                return all(len(done[p]) >= ends[p] and done[p].issuperset(range(ends[p]))
                           for p in ends)

            def committed():
                rows = group_offsets(args, self.group)
                return all(rows.get(p, (None, 0))[0] == ends[p] for p in ends)
            try:
                wait_for("every offset to be processed", drained, DRAIN_TIMEOUT_S, 0.1)
                self.note("every offset processed")
                try:
                    wait_for("every partition to be committed to its end", committed,
                             DRAIN_TIMEOUT_S / 4, 0.1)
                except SetupError:
                    rows = group_offsets(args, self.group)
                    behind = {p: rows.get(p, (None, 0))[0] for p in ends
                              if rows.get(p, (None, 0))[0] != ends[p]}
                    raise SetupError(
                        "COMMITTED: every record was processed, but after "
                        f"{DRAIN_TIMEOUT_S / 4:.0f} s the group's committed offsets of "
                        + ", ".join(f"partition {p} are {c} (end {ends[p]})"
                                    for p, c in behind.items())
                        + "; ferryctl group describe:\n"
                        + ferryctl(args, "group", "describe", self.group))
                self.note("every partition committed to its end")
            except SetupError as e:
                failures.append(str(e))
            for n in self.live(stalled_ok=True):
                self.members[n].term()
            self.note("SIGTERM to every live member")
            for n in self.order:
                m = self.members[n]
                if m.killed_ns is not None:
                    continue
                try:
                    rc = m.proc.wait(timeout=EXIT_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    failures.append(f"{n} did not exit within {EXIT_TIMEOUT_S:.0f} s of SIGTERM")
                    continue
                if rc != 0:
                    failures.append(f"{n} exited with {rc} after SIGTERM")
            logs = self.logs()
            for n, log in logs.items():
                m = self.members[n]
                if log.malformed:
                    failures.append(f"{n}: malformed log lines {log.malformed[:3]}")
                if m.killed_ns is None and (log.truncated or log.exit is None):
                    failures.append(f"{n}: log incomplete (no X line) although not killed")
            checker = Checker(self.members, logs, ends, self.t0)
            checker.check()
            failures += checker.violations
            failures += self.slow_batches(logs)
        except SetupError as e:
            failures.append(f"SETUP: {e}")
        finally:
            if publisher is not None and not publisher.done.is_set():
                publisher.stop()
            for m in self.members.values():
                m.cleanup()
            rc = ferryd.stop() if ferryd is not None else 0
            if rc != 0:
                failures.append(f"ferryd exited with {rc} after SIGTERM")
        self.report(failures, checker)
        if failures and not args.keep:
            print(f"  (kept {self.workdir})")
        elif not args.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return not failures

    def check_alive(self):
        for n in self.order:
            m = self.members[n]
            if m.killed_ns is None and m.term_ns is None and m.proc.poll() is not None:
                raise SetupError(f"{n} exited by itself with {m.proc.returncode}; its stderr: "
                                 + open(m.err, errors="replace").read()[-2000:])

    def slow_batches(self, logs):
        out = []
        for n, log in logs.items():
            m = self.members[n]
            batches = {}
            for p, o, start, end in log.records:
                batches[start] = max(batches.get(start, start), end)
            for start, end in batches.items():
                if any(stop <= end and start <= cont for stop, cont in m.stalls):
                    continue
                if end - start > REBALANCE_MS * 1e6 * 0.8:
                    out.append(f"INVALID RUN: {n} spent {(end - start) / 1e6:.0f} ms on one "
                               f"batch from {self.rel(start)}, near its rebalance timeout")
                    break
        return out

    def rel(self, ns):
        return f"{(ns - self.t0) / 1e6:.1f}ms"

    def report(self, failures, checker):
        stats = checker.stats if checker else {}
        kills = sum(1 for m in self.members.values() if m.killed_ns is not None)
        stalls = sum(len(m.stalls) for m in self.members.values())
        summary = (f"seed {self.seed}: {len(self.order)} members, {kills} killed, {stalls} "
                   f"stalled; {stats.get('records', 0)} records processed, "
                   f"{stats.get('duplicates', 0)} duplicates (all from kill/stall windows "
                   f"unless reported), {stats.get('exempt_overlaps', 0)} overlaps of a stalled "
                   f"member (exempt); {(now_ns() - self.t0) / 1e9:.1f} s")
        with open(os.path.join(self.workdir, "schedule.txt"), "w") as f:
            f.write(self.describe_plan() + "\n")
            for ns, text in self.played:
                f.write(f"{self.rel(ns):>10}  {text}  (mono {ns})\n")
        if not failures:
            print("PASS " + summary, flush=True)
            if self.args.verbose:
                for ns, text in self.played:
                    print(f"    {self.rel(ns):>10}  {text}")
            return
        print("FAIL " + summary)
        print(f"  reproduce: {sys.argv[0]} --door {self.args.door} --seeds {self.seed} ...")
        print("  schedule as played:")
        for ns, text in self.played:
            print(f"    {self.rel(ns):>10}  {text}")
        print(f"  violations ({len(failures)}):")
        for f in failures[:12]:
            print(f"    {f}")
        for at, event, member, name in self.removals():
            print(f"  removed by ferryd at {at}: {name} ({member}), {event}; "
                  f"{self.removal_cause(name, at)}")
        self.print_ferryd_lines()
        sys.stdout.flush()

    def removals(self):
        """ferryd's removals of members (session or rebalance timeout) as
        [(ms since the seed's start, event, member id, member name or "?")]; gRPC members log
        their member id, Kafka members do not."""
        names = {}
        for n in self.order:
            try:
                with open(self.members[n].out, errors="replace") as f:
                    for line in f:
                        fields = line.split()
                        if fields and fields[0] in ("A", "V") and len(fields) >= 4:
                            names[fields[3]] = n
            except FileNotFoundError:
                pass
        out = []
        text = self.ferryd.log_text() if hasattr(self, "ferryd") else ""
        for l in text.splitlines():
            if f"group={self.group}" not in l:
                continue
            if "event=member_timed_out" not in l and "event=member_rebalance_timeout" not in l:
                continue
            event = l.split("event=", 1)[1].split()[0]
            member = l.split("member=", 1)[1].split()[0] if "member=" in l else "?"
            out.append((self.wall_ms(l), event, member, names.get(member, "?")))
        return out

    def removal_cause(self, name, at):
        """What the test did to member `name` before ferryd removed it at `at` ("123ms")."""
        m = self.members.get(name)
        if m is None:
            return "(a Kafka member: its log has no member id)"
        try:
            t = self.t0 + float(at[:-2]) * 1e6
        except ValueError:
            return "?"
        if m.killed_ns is not None and m.killed_ns <= t:
            return "killed by the test before"
        if any(stop <= t for stop, _ in m.stalls) or (m.stopped_ns and m.stopped_ns <= t):
            return "stalled by the test before"
        return "NEITHER killed NOR stalled by the test before that"

    def wall_ms(self, line):
        try:
            wall = datetime.datetime.strptime(line.split(" ", 1)[0], "%Y-%m-%dT%H:%M:%S.%fZ")
            wall = wall.replace(tzinfo=datetime.timezone.utc).timestamp()
            return f"{(wall * 1e9 - self.wall0) / 1e6:.0f}ms"
        except ValueError:
            return "?"

    def print_ferryd_lines(self):
        text = self.ferryd.log_text() if hasattr(self, "ferryd") else ""
        lines = [l for l in text.splitlines()
                 if f"group={self.group}" in l or "level=warn" in l or "level=error" in l]
        print(f"  ferryd's group log ({len(lines)} lines; the seed started at wall "
              f"{datetime.datetime.utcfromtimestamp(self.wall0 / 1e9).isoformat()}Z, "
              f"ms since then in brackets):")
        for l in lines[:80]:
            print(f"    [{self.wall_ms(l)}] {l}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--door", choices=["grpc", "kafka"], required=True)
    ap.add_argument("--seeds", required=True, help="comma-separated list of seeds")
    ap.add_argument("--ferryd", required=True)
    ap.add_argument("--ferryctl", required=True)
    ap.add_argument("--member", help="ferry_handover_member (gRPC door)")
    ap.add_argument("--kafka-member", default=os.path.join(HERE, "kafka_member.py"))
    ap.add_argument("--assignor", default="range",
                    choices=["range", "roundrobin", "cooperative-sticky"],
                    help="the Kafka members' partition.assignment.strategy")
    ap.add_argument("--ferryd-flag", action="append", default=[],
                    help="an extra ferryd flag, e.g. --ferryd-flag=--log-level=debug")
    ap.add_argument("--time-budget-s", type=float, default=180,
                    help="start no seed after this long (the ctest TIMEOUT is larger)")
    ap.add_argument("--keep", action="store_true", help="keep every seed's directory")
    ap.add_argument("--verbose", action="store_true", help="print the schedule of every seed")
    ap.add_argument("--workdir", default=None, help="where the seeds' directories go")
    args = ap.parse_args()
    if args.door == "grpc" and not args.member:
        ap.error("--door grpc needs --member")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    failed = []
    begin = time.monotonic()
    skipped = []
    for seed in seeds:
        if time.monotonic() - begin > args.time_budget_s:
            skipped.append(seed)
            continue
        if not Run(args, seed).run():
            failed.append(seed)
    print(f"{len(seeds) - len(failed) - len(skipped)} of {len(seeds)} seeds passed in "
          f"{time.monotonic() - begin:.0f} s" + (f"; failed: {failed}" if failed else "")
          + (f"; not run (past --time-budget-s={args.time_budget_s:.0f}): {skipped}"
             if skipped else ""))
    return 1 if failed or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
