#!/usr/bin/env bash
# End-to-end test of ferryctl against a real ferryd on 127.0.0.1 (free port, temp dir): topics,
# keyed produce, consume by partition and by group (-e, -c, -o, -f, --offset-reset,
# --assignor), --format json on every command (parsed by Python's json), delimiter escapes, group
# lag, offset resets (dry run by default), group delete, a direct consume that resumes across a
# kill -9 and restart of ferryd, and the error paths with their exit codes (see `ferryctl
# --help`): 1 broker refused, 2 bad command line, 3 broker unreachable, 4 unknown
# topic/partition/group.
#
#   tests/ferryctl_test.sh path/to/ferryd path/to/ferryctl
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 FERRYD FERRYCTL" >&2
  exit 2
fi
FERRYD=$(realpath "$1")
FERRYCTL=$(realpath "$2")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/ferryd.sh
source "$HERE/lib/ferryd.sh"

work=$(mktemp -d)
trap 'ferryd_kill; rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "--- $*"; }

# Every ferryctl call is bounded, so a hang fails the test instead of the CTest timeout.
ctl() { timeout 60 "$FERRYCTL" "$@"; }

expect_eq() { # expect_eq WHAT ACTUAL EXPECTED
  [[ $2 == "$3" ]] || fail "$1: got '$2', expected '$3'"
}

# expect_fail CODE PATTERN ferryctl-args...: ferryctl exits CODE and its stderr has a
# "ferryctl: " line matching PATTERN (grep -E).
expect_fail() {
  local code=$1 pattern=$2 rc=0
  shift 2
  ctl "$@" >"$work/out" 2>"$work/err" || rc=$?
  ((rc == code)) || fail "ferryctl $* exited $rc, expected $code; stderr: $(cat "$work/err")"
  grep -Eq "^ferryctl: .*($pattern)" "$work/err" ||
    fail "ferryctl $* printed no 'ferryctl: ...' message matching '$pattern': $(cat "$work/err")"
}

# expect_usage ferryctl-args...: exit 2, an error message and a pointer to --help.
expect_usage() {
  expect_fail 2 "" "$@"
  grep -q -- "--help' for usage" "$work/err" || fail "ferryctl $* gave no usage hint"
}

# The committed offset (column 4) or lag (column 6) of a group's partition.
group_column() { # group_column GROUP TOPIC PARTITION COLUMN
  ctl group describe "$1" | awk -v t="$2" -v p="$3" -v c="$4" '$1 == t && $2 == p {print $c}'
}

end_offset() { # end_offset TOPIC PARTITION
  ctl topic describe "$1" | awk -v p="$2" 'NR > 2 && $1 == p {print $3}'
}

# json EXPR: evaluates the Python expression EXPR with `d` the JSON document on stdin (`lines`:
# one document per line, for consume and produce) and prints the result.
json() { python3 -c 'import json, sys
t = sys.stdin.read()
lines = [json.loads(l) for l in t.splitlines() if l.strip()]
d = lines[0] if len(lines) == 1 else None
print(eval(sys.argv[1]))' "$1"; }

# wait_lines FILE N SECONDS: until FILE has at least N lines; fails after SECONDS.
wait_lines() {
  local deadline=$((SECONDS + $3))
  while (($(wc -l <"$1") < $2)); do
    ((SECONDS < deadline)) || fail "$1 has $(wc -l <"$1") lines after $3 s, expected $2"
    sleep 0.05
  done
}

# Auto-creation off: an unknown topic is an error everywhere, produce included.
ferryd_start "$FERRYD" "$work" --auto-create-topics=false --default-partitions=3
echo "ferryd serves on $FERRY_BROKER"

step "help on every command and subcommand"
ctl --help | grep -q '^Usage: ferryctl'
ctl --help | grep -q '3  the broker could not be reached'
for cmd in "topic create" "topic list" "topic describe" "topic delete" "topic add-partitions" \
  "topic alter" "topic delete-records" produce consume "group list" "group describe" "group reset-offsets" "group delete"; do
  # shellcheck disable=SC2086
  ctl $cmd --help | grep -q "^Usage: ferryctl $cmd " || fail "no usage for '$cmd --help'"
done
ctl topic --help | grep -q 'add-partitions'
ctl group -h | grep -q 'reset-offsets'
ctl --version | grep -Eq '^ferryctl [0-9]+\.[0-9]+' || fail "--version: $(ctl --version)"

step "topic create / list / describe"
ctl topic create orders --partitions 3 | grep -q "Created topic 'orders' with 3 partitions"
ctl topic create events -p 2 >/dev/null
expect_eq "orders partitions in topic list" "$(ctl topic list | awk '$1 == "orders" {print $2}')" 3
ctl topic describe orders | grep -q '^topic orders: 3 partitions'

step "produce keyed records (-K :), headers, progress"
for ((i = 0; i < 30; i++)); do echo "key-$((i % 5)):value-$i"; done >"$work/orders.txt"
ctl produce orders -K : --file "$work/orders.txt" -H source=test -H run=1
total=0
for p in 0 1 2; do total=$((total + $(end_offset orders $p))); done
expect_eq "records in orders" "$total" 30

step "consume every partition to the end (-e): all 30, keys kept, each key on one partition"
ctl consume orders -e -f '%k %v %p %h\n' >"$work/all.txt"
expect_eq "records consumed with -e" "$(wc -l <"$work/all.txt")" 30
diff <(cut -d' ' -f1,2 "$work/all.txt" | sort) <(tr ':' ' ' <"$work/orders.txt" | sort) ||
  fail "consumed keys/values differ from the produced lines"
expect_eq "partitions per key" "$(cut -d' ' -f1,3 "$work/all.txt" | sort -u | wc -l)" 5
expect_eq "headers" "$(cut -d' ' -f4 "$work/all.txt" | sort -u)" "source=test,run=1"

step "null and empty keys and values: -K and -Z on produce, %K %S and -Z on consume"
ctl topic create nulls -p 1 >/dev/null
# A line without the delimiter: null key; ':v' an empty key; 'k:' with -Z a null value.
printf 'nokey\n:emptykey\ntomb:\n' | ctl produce nulls -K : -Z
printf 'empty:\n' | ctl produce nulls -K :
expect_eq "lengths (-1: null)" "$(ctl consume nulls -e -f '%K/%S ')" "-1/5 0/8 4/-1 5/0 "
expect_eq "-Z prints NULL" "$(ctl consume nulls -e -Z -f '[%k=%v]')" \
  "[NULL=nokey][=emptykey][tomb=NULL][empty=]"

step "consume by partition: -e, -c, -o"
for p in 0 1 2; do
  end=$(end_offset orders $p)
  ctl consume orders -p $p -e -f '%o\n' >"$work/p$p.txt"
  if ((end > 0)); then
    diff <(seq 0 $((end - 1))) "$work/p$p.txt" || fail "partition $p: offsets not 0..$((end - 1))"
  else
    [[ ! -s $work/p$p.txt ]] || fail "partition $p is empty but consume printed records"
  fi
done
busy=$(for p in 0 1 2; do echo "$(end_offset orders $p) $p"; done | sort -n | tail -1 | cut -d' ' -f2)
busy_end=$(end_offset orders "$busy")
expect_eq "-c 2" "$(ctl consume orders -p "$busy" -c 2 -f '%o,')" "0,1,"
expect_eq "-o 1 -c 1" "$(ctl consume orders -p "$busy" -o 1 -c 1 -f '%t/%p/%o')" "orders/$busy/1"
expect_eq "-o -1 -e" "$(ctl consume orders -p "$busy" -o -1 -e -f '%o')" "$((busy_end - 1))"
expect_eq "-o latest -e" "$(ctl consume orders -p "$busy" -o latest -e | wc -l)" 0
expect_eq "-o s@0 -c" "$(ctl consume orders -p "$busy" -o s@0 -c "$busy_end" -f '%o\n' | tail -1)" \
  "$((busy_end - 1))"

step "large input: progress on stderr"
seq 1 2500 | ctl produce events -p 0 --progress 1000 2>"$work/progress.txt"
grep -q 'produce: 1000 records sent' "$work/progress.txt" || fail "no progress at 1000"
grep -q 'produce: 2000 records sent' "$work/progress.txt" || fail "no progress at 2000"
grep -q 'done, 2500 records acknowledged' "$work/progress.txt" || fail "no final count"
expect_eq "events/0 end" "$(end_offset events 0)" 2500
for ((i = 0; i < 6; i++)); do echo "k$i=v$i"; done | ctl produce events -p 1 -K =

step "consume by group with -c, then -e: every record exactly once"
ctl consume events --group g1 -c 4 -f '%p %o\n' >"$work/g1a.txt"
expect_eq "records with -c 4" "$(wc -l <"$work/g1a.txt")" 4
ctl group describe g1 | grep -q '^group g1: state EMPTY'
# The group committed exactly the printed records: per partition, offsets 0..n-1.
for p in 0 1; do
  n=$(awk -v p=$p '$1 == p' "$work/g1a.txt" | wc -l)
  ((n > 0)) || continue
  expect_eq "events/$p committed after -c 4" "$(group_column g1 events $p 4)" "$n"
  expect_eq "events/$p lag after -c 4" "$(group_column g1 events $p 6)" \
    "$(($(end_offset events $p) - n))"
done
ctl consume events --group g1 -e -f '%p %o\n' >"$work/g1b.txt"
expect_eq "records with -e" "$(wc -l <"$work/g1b.txt")" 2502
expect_eq "distinct records over both runs" "$(cat "$work/g1a.txt" "$work/g1b.txt" | sort -u | wc -l)" 2506
expect_eq "g1 events/0 committed" "$(group_column g1 events 0 4)" 2500
expect_eq "g1 events/1 committed" "$(group_column g1 events 1 4)" 6
expect_eq "g1 events/0 lag" "$(group_column g1 events 0 6)" 0
expect_eq "g1 events/1 lag" "$(group_column g1 events 1 6)" 0
expect_eq "nothing left for g1" "$(ctl consume events --group g1 -e | wc -l)" 0

step "lag table after more records"
seq 1 5 | ctl produce events -p 0
seq 1 2 | ctl produce events -p 1
ctl group describe g1 >"$work/describe.txt"
cat "$work/describe.txt"
head -2 "$work/describe.txt" | tail -1 | grep -Eq '^TOPIC +PARTITION +MEMBER +COMMITTED +END +LAG$' ||
  fail "lag table header"
expect_eq "events/0 row" "$(awk '$1 == "events" && $2 == 0' "$work/describe.txt" | tr -s ' ')" \
  "events 0 - 2500 2505 5"
expect_eq "events/1 row" "$(awk '$1 == "events" && $2 == 1' "$work/describe.txt" | tr -s ' ')" \
  "events 1 - 6 8 2"
ctl group describe g1 | grep -q '^group g1: state EMPTY, generation [0-9]*, members 0, lag 7$' ||
  fail "group describe: no total lag"
ctl group list | grep -Eq '^g1 +EMPTY +0 +7$' || fail "group list: $(ctl group list)"

step "group list / describe --format json"
ctl group list --format json >"$work/groups.json"
expect_eq "group list json" "$(json '[(g["state"], g["members"], g["lag"]) for g in d["groups"] if g["group"] == "g1"]' <"$work/groups.json")" \
  "[('EMPTY', 0, 7)]"
ctl --format json group describe g1 >"$work/g1.json"
expect_eq "group describe json" "$(json '(d["group"], d["state"], d["lag"], d["members"], sorted((p["topic"], p["partition"], p["member_id"], p["committed_offset"], p["end_offset"], p["lag"]) for p in d["partitions"]))' <"$work/g1.json")" \
  "('g1', 'EMPTY', 7, [], [('events', 0, None, 2500, 2505, 5), ('events', 1, None, 6, 8, 2)])"

step "reset offsets: a dry run unless --execute"
ctl group reset-offsets g1 --topic events --to-earliest >"$work/plan.txt" 2>"$work/plan.err"
grep -Eq '^GROUP +TOPIC +PARTITION +CURRENT_OFFSET +NEW_OFFSET$' "$work/plan.txt" || fail "plan header: $(cat "$work/plan.txt")"
grep -Eq '^g1 +events +1 +6 +0$' "$work/plan.txt" || fail "plan row: $(cat "$work/plan.txt")"
grep -q 'dry run' "$work/plan.err" || fail "no dry-run note: $(cat "$work/plan.err")"
expect_eq "events/1 committed after a dry run" "$(group_column g1 events 1 4)" 6
ctl group reset-offsets g1 --topic events --to-earliest --dry-run >/dev/null 2>&1
expect_eq "events/1 committed after --dry-run" "$(group_column g1 events 1 4)" 6
expect_usage group reset-offsets g1 --topic events --to-earliest --dry-run --execute
expect_eq "reset plan json" "$(ctl group reset-offsets g1 --topic events -p 1 --to-offset 2 --format json 2>/dev/null | json '(d["group"], d["topic"], d["executed"], d["offsets"])')" \
  "('g1', 'events', False, [{'topic': 'events', 'partition': 1, 'current_offset': 6, 'new_offset': 2}])"
ctl group reset-offsets g1 --topic events --to-earliest --execute 2>/dev/null | grep -Eq '^g1 +events +1 +6 +0$'
expect_eq "events/0 lag after --to-earliest" "$(group_column g1 events 0 6)" 2505
expect_eq "events/1 lag after --to-earliest" "$(group_column g1 events 1 6)" 8
ctl group reset-offsets g1 --topic events --to-latest --execute >/dev/null
expect_eq "events/0 committed after --to-latest" "$(group_column g1 events 0 4)" 2505
expect_eq "events/1 lag after --to-latest" "$(group_column g1 events 1 6)" 0
ctl group reset-offsets g1 --topic events --partition 1 --to-offset 3 --execute >/dev/null
expect_eq "events/1 committed after --to-offset 3" "$(group_column g1 events 1 4)" 3
expect_eq "events/1 lag after --to-offset 3" "$(group_column g1 events 1 6)" 5
expect_eq "events/0 untouched by --partition 1" "$(group_column g1 events 0 4)" 2505
expect_eq "consume after reset" "$(ctl consume events -g g1 -e -f '%p:%o ' )" "1:3 1:4 1:5 1:6 1:7 "
ctl group reset-offsets g1 --topic events --to-timestamp 0 --execute >/dev/null
expect_eq "events/1 committed after --to-timestamp 0" "$(group_column g1 events 1 4)" 0
ctl group reset-offsets g1 --topic events -p 0 --to-timestamp 4102444800000 --execute >/dev/null
expect_eq "events/0 committed after --to-timestamp (future)" "$(group_column g1 events 0 4)" 2505

step "topic add-partitions"
ctl topic add-partitions orders --add 1 | grep -q "now has 4 partitions"
ctl topic add-partitions orders --partitions 5 | grep -q "now has 5 partitions"
expect_fail 1 "partition" topic add-partitions orders --partitions 2

step "--assignor: sent on join; a member asking another assignor than the group's is refused"
timeout 60 "$FERRYCTL" consume events --group g-asg --assignor range >/dev/null 2>"$work/asg.err" &
asg_pid=$!
stable=""
for _ in $(seq 1 150); do
  if ctl group describe g-asg 2>/dev/null | grep -q '^group g-asg: state STABLE.*members 1'; then
    stable=1
    break
  fi
  sleep 0.1
done
[ -n "$stable" ] || fail "the --assignor range member never made g-asg STABLE: $(cat "$work/asg.err")"
expect_fail 1 "uses the range assignor" consume events --group g-asg --assignor roundrobin -e
expect_usage consume events --group g-asg --assignor bogus
kill "$asg_pid"
wait "$asg_pid" 2>/dev/null || true

step "group delete"
ctl group delete g1 | grep -q "Deleted group 'g1'"
expect_fail 4 "g1" group describe g1
expect_fail 4 "g1" group delete g1

step "unknown topic / partition: exit 4"
expect_fail 4 "nosuch" topic describe nosuch
expect_fail 4 "nosuch" topic delete nosuch
expect_fail 4 "nosuch" consume nosuch -e
expect_fail 4 "nosuch" consume nosuch --group g2 -e
expect_fail 4 "nosuch" group reset-offsets g2 --topic nosuch --to-earliest
echo "k:v" >"$work/one.txt"
expect_fail 4 "nosuch" produce nosuch -K : --file "$work/one.txt"
expect_fail 4 "partition 9 does not exist" consume orders -p 9 -e
expect_fail 4 "partition 9 does not exist" produce orders -p 9 --file "$work/one.txt"

step "broker refusals: exit 1"
expect_fail 1 "already exists" topic create orders
expect_fail 1 "invalid" topic create 'bad name!'

step "bad command lines: exit 2 with a usage hint"
expect_fail 2 "no command" # no arguments at all
expect_usage frobnicate
expect_usage topic
expect_usage topic frob
expect_usage topic create
expect_usage topic create a b
expect_usage consume orders -c abc
expect_usage consume orders -c 0
expect_usage consume orders --group g -p 0
expect_usage consume orders --group g -o 5
expect_usage consume orders -o sometime
expect_usage consume orders -f '%z'
expect_usage produce orders --bogus
expect_usage produce orders -H novalue
expect_usage produce orders -p
expect_usage group reset-offsets g --topic orders
expect_usage group reset-offsets g --topic orders --to-earliest --to-latest
expect_usage topic list --timeout never
expect_usage --broker

step "broker down: exit 3, promptly, naming the address"
expect_fail 3 "cannot reach the broker at 127.0.0.1:1" --broker 127.0.0.1:1 topic list
expect_fail 3 "127.0.0.1:1" topic describe orders --broker=127.0.0.1:1
FERRY_BROKER=127.0.0.1:1 expect_fail 3 "127.0.0.1:1" group list
expect_fail 3 "127.0.0.1:1" -b 127.0.0.1:1 produce orders --file "$work/one.txt"
expect_fail 3 "127.0.0.1:1" -b 127.0.0.1:1 consume orders -e
expect_fail 3 "127.0.0.1:1" -b 127.0.0.1:1 consume orders -g g3 -e

step "topic alter / delete-records"
ctl topic create trim -p 1 >/dev/null
ctl topic alter trim --retention-ms 86400000 --max-record-bytes 2048 |
  grep -q "Topic 'trim' now has retention_ms 86400000, retention_bytes none, max_record_bytes 2048"
ctl topic describe trim | grep -q "retention_ms 86400000, retention_bytes none, max_record_bytes 2048"
ctl topic alter trim --retention-ms 5 --validate-only | grep -q "Valid: topic 'trim' would have retention_ms 5,"
ctl topic describe trim | grep -q "retention_ms 86400000,"
ctl topic alter trim --max-record-bytes 0 | grep -q "retention_ms 86400000, retention_bytes none, max_record_bytes 1048576"
expect_usage topic alter trim
expect_usage topic alter trim --retention-ms -5
expect_fail 4 "nope" topic alter nope --retention-ms 5
expect_fail 1 "max_record_bytes" topic alter trim --max-record-bytes 99999999
seq 1 10 | ctl produce trim -p 0 >/dev/null
ctl topic delete-records trim -p 0 --before 4 | grep -q "partition 0 now starts at offset 4"
expect_eq "trim log start" "$(ctl topic describe trim | awk 'NR > 2 && $1 == 0 {print $2}')" 4
expect_eq "first record after delete-records" "$(ctl consume trim -p 0 -c 1 -f '%o')" 4
expect_fail 1 "beyond" topic delete-records trim -p 0 --before 99
expect_usage topic delete-records trim -p 0
ctl topic delete-records trim -p 0 --before -1 | grep -q "now starts at offset 10"

step "escapes, --format json on consume/produce/topics, --offset-reset, --timeout 1, DNS"
ctl topic create tabs -p 1 --format json | json 'd["topic"], d["partitions"]' | grep -qx "('tabs', 1)"
printf 'a\tb\nnokey\n' | ctl produce tabs -K '\t' --format json >"$work/acks.json"
expect_eq "produce json" "$(json 'sorted((l["partition"], l["offset"], l["line"]) for l in lines)' <"$work/acks.json")" "[(0, 0, 1), (0, 1, 2)]"
expect_eq "-K '\t' and \x1f in -f" "$(ctl consume tabs -e -f '%k\x1f%v;')" "$(printf 'a\x1fb;\x1fnokey;')"
expect_eq "consume json" "$(ctl consume tabs -e --format json | json '[(l["offset"], l["key"], l["value"], l["headers"]) for l in lines]')" \
  "[(0, 'a', 'b', []), (1, None, 'nokey', [])]"
expect_eq "topic list json" "$(ctl topic list --format json | json '[t["partitions"] for t in d["topics"] if t["topic"] == "tabs"]')" "[1]"
expect_fail 1 "--offset-reset" consume tabs -p 0 -o 99 -e
expect_eq "--offset-reset earliest" "$(ctl consume tabs -p 0 -o 99 --offset-reset earliest -c 1 -f '%o')" 0
ctl topic list --timeout 1 >/dev/null || fail "--timeout 1 refused"
expect_fail 3 "cannot resolve host 'nosuchhost'" -b dns://127.0.0.1:53/nosuchhost:50051 topic list

step "topic delete"
ctl topic delete orders | grep -q "Deleted topic 'orders'"
expect_fail 4 "orders" topic describe orders

step "direct consume resumes across kill -9 and restart of ferryd: every record once, in order"
ctl topic create restart -p 1 >/dev/null
seq 0 49 | ctl produce restart -p 0
timeout 60 "$FERRYCTL" consume restart -p 0 -o 5 -c 95 -f '%v\n' >"$work/resume.txt" 2>"$work/resume.err" &
consumer=$!
wait_lines "$work/resume.txt" 45 20
port=$FERRYD_PORT
kill -9 "$FERRYD_PID"
wait "$FERRYD_PID" 2>/dev/null || true
ferryd_start "$FERRYD" "$work" --auto-create-topics=false --default-partitions=3 --listen=127.0.0.1:"$port"
expect_eq "restarted on the same port" "$FERRYD_PORT" "$port"
seq 50 99 | ctl produce restart -p 0
wait "$consumer" || fail "resuming consumer exited $?: $(cat "$work/resume.err")"
diff <(seq 5 99) "$work/resume.txt" || fail "records after the restart differ from 5..99"
grep -q reconnected "$work/resume.err" || fail "no reconnect noted: $(cat "$work/resume.err")"

step "stop ferryd with SIGTERM: exits 0; the port is closed afterwards"
ferryd_stop
expect_fail 3 "cannot reach the broker" topic list
echo "PASS: ferryctl end to end"
