#!/usr/bin/python3
"""librdkafka's admin API and idempotent producer (Debian's python3-confluent-kafka 1.7.0 on
librdkafka 2.0.2) against Ferry's Kafka listener.

The binding's AdminClient has create_topics, list_topics, describe_configs, alter_configs,
create_partitions, delete_topics and list_groups; it lacks incremental_alter_configs,
delete_records, describe_consumer_groups and delete_consumer_groups. librdkafka 2.0.2 itself
has DeleteRecords, ListConsumerGroups, DescribeConsumerGroups and DeleteGroups (not
IncrementalAlterConfigs, which came in 2.2), so those are called through ctypes on the same
librdkafka (class RdKafkaAdmin): the protocol is still librdkafka's.

Steps, each failing with the step's name:
  1. topics: create_topics (3 partitions, retention.ms in the request) and validate-only
     (nothing created) and again (TOPIC_ALREADY_EXISTS); list_topics shows it.
  2. configs: describe_configs of the topic (retention.ms from the create), of an unknown topic
     (UNKNOWN_TOPIC_OR_PARTITION), of the broker (answers entries); alter_configs
     validate-only (nothing changes), then retention.ms read back; an unknown key is
     INVALID_CONFIG. incremental_alter_configs: skipped (neither the binding nor librdkafka
     2.0.2 has it).
  3. partitions: create_partitions 3 -> 5 validate-only (nothing changes), then 3 -> 5; 5 -> 2
     is INVALID_PARTITIONS.
  4. records: 10 records on a partition; DeleteRecords before offset 4: low watermark 4, a
     consumer from the beginning gets offsets 4..9; before -1 (the high watermark): low = high;
     past the high watermark: OFFSET_OUT_OF_RANGE.
  5. groups: an idle group (a member consumed, committed and closed) and a live group (a member
     holding the partitions); list_groups, ListConsumerGroups and DescribeConsumerGroups show
     Empty / Stable with their members; DeleteGroups of [idle, live, unknown]: ok,
     NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND; afterwards the idle group's committed offsets are
     gone and it is not listed, the live one still holds its partitions.
  6. idempotent producer: enable.idempotence=true, acks=all with compression.type gzip,
     snappy, lz4 and zstd, each on its own 3-partition topic: every record delivered, librdkafka
     never logs that it sends a batch uncompressed (it does when the broker's ApiVersions do
     not allow the codec, e.g. zstd below Produce v7), the log ends equal the deliveries, and a
     group consumer reads every record once, in order per partition, byte-identical.
  7. delete_topics of every topic; list_topics no longer shows them.
"""

import ctypes
import ctypes.util
import logging
import os
import time

from kafka_test_lib import KAFKA_BOOTSTRAP, TestFailure, main, wait_for

PARTITIONS = 3
IDEMPOTENT_RECORDS = 300
TIMEOUT_S = 20.0

step_name = "start"


def step(name):
    global step_name
    step_name = name
    print(f"[{time.monotonic() - START:6.2f} s] {name}", flush=True)


START = time.monotonic()


def fail(message):
    raise TestFailure(f"step {step_name!r}: {message}")


def expect(condition, message):
    if not condition:
        fail(message)


# --- librdkafka's admin calls the binding lacks, through ctypes ---------------------------------

class _TopicPartition(ctypes.Structure):
    _fields_ = [("topic", ctypes.c_char_p), ("partition", ctypes.c_int32),
                ("offset", ctypes.c_int64), ("metadata", ctypes.c_void_p),
                ("metadata_size", ctypes.c_size_t), ("opaque", ctypes.c_void_p),
                ("err", ctypes.c_int), ("_private", ctypes.c_void_p)]


class _TopicPartitionList(ctypes.Structure):
    _fields_ = [("cnt", ctypes.c_int), ("size", ctypes.c_int),
                ("elems", ctypes.POINTER(_TopicPartition))]


_P = ctypes.c_void_p
_TPL = ctypes.POINTER(_TopicPartitionList)
# The events and admin ops of rdkafka.h (librdkafka 2.0.2).
_EVENT_DELETERECORDS_RESULT = 105
_EVENT_DELETEGROUPS_RESULT = 106
_EVENT_LISTCONSUMERGROUPS_RESULT = 0x2000
_EVENT_DESCRIBECONSUMERGROUPS_RESULT = 0x4000
_OP_DELETERECORDS, _OP_DELETEGROUPS = 6, 7
_OP_LISTCONSUMERGROUPS, _OP_DESCRIBECONSUMERGROUPS = 12, 13
GROUP_STATES = ["Unknown", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead",
                "Empty"]


class RdKafkaAdmin:
    """DeleteRecords, ListConsumerGroups, DescribeConsumerGroups and DeleteGroups of librdkafka
    2.0.2's C admin API, on a handle of its own. Errors are given by name (rd_kafka_err2name,
    e.g. "NON_EMPTY_GROUP"), None for success. Not thread-safe."""

    def __init__(self, bootstrap):
        path = ctypes.util.find_library("rdkafka") or "librdkafka.so.1"
        lib = self.lib = ctypes.CDLL(path)
        sigs = {
            "rd_kafka_version_str": (ctypes.c_char_p, []),
            "rd_kafka_conf_new": (_P, []),
            "rd_kafka_conf_set": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p,
                                                 ctypes.c_char_p, ctypes.c_size_t]),
            "rd_kafka_new": (_P, [ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_size_t]),
            "rd_kafka_destroy": (None, [_P]),
            "rd_kafka_queue_new": (_P, [_P]),
            "rd_kafka_queue_destroy": (None, [_P]),
            "rd_kafka_queue_poll": (_P, [_P, ctypes.c_int]),
            "rd_kafka_event_type": (ctypes.c_int, [_P]),
            "rd_kafka_event_error": (ctypes.c_int, [_P]),
            "rd_kafka_event_error_string": (ctypes.c_char_p, [_P]),
            "rd_kafka_event_destroy": (None, [_P]),
            "rd_kafka_err2name": (ctypes.c_char_p, [ctypes.c_int]),
            "rd_kafka_error_code": (ctypes.c_int, [_P]),
            "rd_kafka_error_string": (ctypes.c_char_p, [_P]),
            "rd_kafka_AdminOptions_new": (_P, [_P, ctypes.c_int]),
            "rd_kafka_AdminOptions_destroy": (None, [_P]),
            "rd_kafka_AdminOptions_set_request_timeout": (
                ctypes.c_int, [_P, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]),
            "rd_kafka_topic_partition_list_new": (_TPL, [ctypes.c_int]),
            "rd_kafka_topic_partition_list_add": (ctypes.POINTER(_TopicPartition),
                                                  [_TPL, ctypes.c_char_p, ctypes.c_int32]),
            "rd_kafka_topic_partition_list_destroy": (None, [_TPL]),
            "rd_kafka_DeleteRecords_new": (_P, [_TPL]),
            "rd_kafka_DeleteRecords_destroy": (None, [_P]),
            "rd_kafka_DeleteRecords": (None, [_P, ctypes.POINTER(_P), ctypes.c_size_t, _P, _P]),
            "rd_kafka_event_DeleteRecords_result": (_P, [_P]),
            "rd_kafka_DeleteRecords_result_offsets": (_TPL, [_P]),
            "rd_kafka_DeleteGroup_new": (_P, [ctypes.c_char_p]),
            "rd_kafka_DeleteGroup_destroy": (None, [_P]),
            "rd_kafka_DeleteGroups": (None, [_P, ctypes.POINTER(_P), ctypes.c_size_t, _P, _P]),
            "rd_kafka_event_DeleteGroups_result": (_P, [_P]),
            "rd_kafka_DeleteGroups_result_groups": (ctypes.POINTER(_P),
                                                    [_P, ctypes.POINTER(ctypes.c_size_t)]),
            "rd_kafka_group_result_name": (ctypes.c_char_p, [_P]),
            "rd_kafka_group_result_error": (_P, [_P]),
            "rd_kafka_ListConsumerGroups": (None, [_P, _P, _P]),
            "rd_kafka_event_ListConsumerGroups_result": (_P, [_P]),
            "rd_kafka_ListConsumerGroups_result_valid": (ctypes.POINTER(_P),
                                                         [_P, ctypes.POINTER(ctypes.c_size_t)]),
            "rd_kafka_ListConsumerGroups_result_errors": (ctypes.POINTER(_P),
                                                          [_P, ctypes.POINTER(ctypes.c_size_t)]),
            "rd_kafka_ConsumerGroupListing_group_id": (ctypes.c_char_p, [_P]),
            "rd_kafka_ConsumerGroupListing_state": (ctypes.c_int, [_P]),
            "rd_kafka_DescribeConsumerGroups": (None, [_P, ctypes.POINTER(ctypes.c_char_p),
                                                       ctypes.c_size_t, _P, _P]),
            "rd_kafka_event_DescribeConsumerGroups_result": (_P, [_P]),
            "rd_kafka_DescribeConsumerGroups_result_groups": (
                ctypes.POINTER(_P), [_P, ctypes.POINTER(ctypes.c_size_t)]),
            "rd_kafka_ConsumerGroupDescription_group_id": (ctypes.c_char_p, [_P]),
            "rd_kafka_ConsumerGroupDescription_error": (_P, [_P]),
            "rd_kafka_ConsumerGroupDescription_state": (ctypes.c_int, [_P]),
            "rd_kafka_ConsumerGroupDescription_member_count": (ctypes.c_size_t, [_P]),
            "rd_kafka_ConsumerGroupDescription_member": (_P, [_P, ctypes.c_size_t]),
            "rd_kafka_MemberDescription_consumer_id": (ctypes.c_char_p, [_P]),
            "rd_kafka_MemberDescription_assignment": (_P, [_P]),
            "rd_kafka_MemberAssignment_partitions": (_TPL, [_P]),
        }
        for name, (restype, argtypes) in sigs.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, argtypes
        errstr = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        if lib.rd_kafka_conf_set(conf, b"bootstrap.servers", bootstrap.encode(), errstr,
                                 len(errstr)) != 0:
            raise TestFailure(f"rd_kafka_conf_set: {errstr.value.decode()}")
        self.rk = lib.rd_kafka_new(0, conf, errstr, len(errstr))  # RD_KAFKA_PRODUCER
        if not self.rk:
            raise TestFailure(f"rd_kafka_new: {errstr.value.decode()}")
        self.queue = lib.rd_kafka_queue_new(self.rk)

    def close(self):
        self.lib.rd_kafka_queue_destroy(self.queue)
        self.lib.rd_kafka_destroy(self.rk)

    def _err_name(self, error):
        """An rd_kafka_error_t* as "NAME: message", None for NULL."""
        if not error:
            return None
        return (self.lib.rd_kafka_err2name(self.lib.rd_kafka_error_code(error)).decode() + ": " +
                (self.lib.rd_kafka_error_string(error) or b"").decode())

    def _call(self, op, want_event, start):
        """Runs start(options, queue), waits for its result event; returns the event (the
        caller destroys it) after checking its type and top-level error."""
        lib = self.lib
        options = lib.rd_kafka_AdminOptions_new(self.rk, op)
        errstr = ctypes.create_string_buffer(512)
        lib.rd_kafka_AdminOptions_set_request_timeout(options, int(TIMEOUT_S * 1000) // 2,
                                                      errstr, len(errstr))
        try:
            start(options, self.queue)
            event = lib.rd_kafka_queue_poll(self.queue, int(TIMEOUT_S * 1000))
        finally:
            lib.rd_kafka_AdminOptions_destroy(options)
        if not event:
            fail(f"no answer from librdkafka's admin op {op} within {TIMEOUT_S:.0f} s")
        kind = lib.rd_kafka_event_type(event)
        if kind != want_event:
            lib.rd_kafka_event_destroy(event)
            fail(f"admin op {op}: event type {kind}; want {want_event}")
        return event

    def _top_error(self, event):
        code = self.lib.rd_kafka_event_error(event)
        if code == 0:
            return None
        return (self.lib.rd_kafka_err2name(code).decode() + ": " +
                (self.lib.rd_kafka_event_error_string(event) or b"").decode())

    def delete_records(self, topic, before):
        """before: {partition: offset}. Returns (top-level error, {partition: (low watermark
        or -1, error name or None)})."""
        lib = self.lib
        tpl = lib.rd_kafka_topic_partition_list_new(len(before))
        for partition, offset in before.items():
            element = lib.rd_kafka_topic_partition_list_add(tpl, topic.encode(), partition)
            element.contents.offset = offset
        request = lib.rd_kafka_DeleteRecords_new(tpl)
        lib.rd_kafka_topic_partition_list_destroy(tpl)
        arr = (_P * 1)(request)
        try:
            event = self._call(_OP_DELETERECORDS, _EVENT_DELETERECORDS_RESULT,
                               lambda opts, q: lib.rd_kafka_DeleteRecords(self.rk, arr, 1, opts, q))
        finally:
            lib.rd_kafka_DeleteRecords_destroy(request)
        try:
            top = self._top_error(event)
            out = {}
            if top is None:
                result = lib.rd_kafka_event_DeleteRecords_result(event)
                offsets = lib.rd_kafka_DeleteRecords_result_offsets(result)
                for i in range(offsets.contents.cnt):
                    e = offsets.contents.elems[i]
                    out[e.partition] = (e.offset,
                                        lib.rd_kafka_err2name(e.err).decode() if e.err else None)
            return top, out
        finally:
            lib.rd_kafka_event_destroy(event)

    def delete_groups(self, groups):
        """Returns (top-level error, {group: error "NAME: message" or None})."""
        lib = self.lib
        requests = [lib.rd_kafka_DeleteGroup_new(g.encode()) for g in groups]
        arr = (_P * len(requests))(*requests)
        try:
            event = self._call(_OP_DELETEGROUPS, _EVENT_DELETEGROUPS_RESULT,
                               lambda opts, q: lib.rd_kafka_DeleteGroups(self.rk, arr,
                                                                         len(requests), opts, q))
        finally:
            for r in requests:
                lib.rd_kafka_DeleteGroup_destroy(r)
        try:
            top = self._top_error(event)
            out = {}
            if top is None:
                result = lib.rd_kafka_event_DeleteGroups_result(event)
                n = ctypes.c_size_t()
                items = lib.rd_kafka_DeleteGroups_result_groups(result, ctypes.byref(n))
                for i in range(n.value):
                    name = lib.rd_kafka_group_result_name(items[i]).decode()
                    out[name] = self._err_name(lib.rd_kafka_group_result_error(items[i]))
            return top, out
        finally:
            lib.rd_kafka_event_destroy(event)

    def list_consumer_groups(self):
        """Returns (top-level error, {group: state name}, [per-broker errors])."""
        lib = self.lib
        event = self._call(_OP_LISTCONSUMERGROUPS, _EVENT_LISTCONSUMERGROUPS_RESULT,
                           lambda opts, q: lib.rd_kafka_ListConsumerGroups(self.rk, opts, q))
        try:
            top = self._top_error(event)
            groups, errors = {}, []
            if top is None:
                result = lib.rd_kafka_event_ListConsumerGroups_result(event)
                n = ctypes.c_size_t()
                valid = lib.rd_kafka_ListConsumerGroups_result_valid(result, ctypes.byref(n))
                for i in range(n.value):
                    name = lib.rd_kafka_ConsumerGroupListing_group_id(valid[i]).decode()
                    groups[name] = GROUP_STATES[lib.rd_kafka_ConsumerGroupListing_state(valid[i])]
                errs = lib.rd_kafka_ListConsumerGroups_result_errors(result, ctypes.byref(n))
                errors = [self._err_name(errs[i]) for i in range(n.value)]
            return top, groups, errors
        finally:
            lib.rd_kafka_event_destroy(event)

    def describe_consumer_groups(self, groups):
        """Returns (top-level error, {group: (error or None, state name, [(member id,
        [(topic, partition)])])})."""
        lib = self.lib
        names = (ctypes.c_char_p * len(groups))(*[g.encode() for g in groups])
        event = self._call(_OP_DESCRIBECONSUMERGROUPS, _EVENT_DESCRIBECONSUMERGROUPS_RESULT,
                           lambda opts, q: lib.rd_kafka_DescribeConsumerGroups(
                               self.rk, names, len(groups), opts, q))
        try:
            top = self._top_error(event)
            out = {}
            if top is None:
                result = lib.rd_kafka_event_DescribeConsumerGroups_result(event)
                n = ctypes.c_size_t()
                items = lib.rd_kafka_DescribeConsumerGroups_result_groups(result, ctypes.byref(n))
                for i in range(n.value):
                    d = items[i]
                    members = []
                    for m in range(lib.rd_kafka_ConsumerGroupDescription_member_count(d)):
                        member = lib.rd_kafka_ConsumerGroupDescription_member(d, m)
                        parts = lib.rd_kafka_MemberAssignment_partitions(
                            lib.rd_kafka_MemberDescription_assignment(member))
                        assigned = []
                        if parts:
                            for k in range(parts.contents.cnt):
                                e = parts.contents.elems[k]
                                assigned.append((e.topic.decode(), e.partition))
                        members.append(
                            (lib.rd_kafka_MemberDescription_consumer_id(member).decode(),
                             sorted(assigned)))
                    out[lib.rd_kafka_ConsumerGroupDescription_group_id(d).decode()] = (
                        self._err_name(lib.rd_kafka_ConsumerGroupDescription_error(d)),
                        GROUP_STATES[lib.rd_kafka_ConsumerGroupDescription_state(d)], members)
            return top, out
        finally:
            lib.rd_kafka_event_destroy(event)


# --- helpers over the binding ---------------------------------------------------------------------

def result(future, what):
    """A future's result; fails the step with the KafkaError's name on an exception."""
    try:
        return future.result(timeout=TIMEOUT_S)
    except Exception as e:  # KafkaException, or a timeout
        fail(f"{what}: {describe_error(e)}")


def error_name(future):
    """The KafkaError name a future failed with, None if it succeeded."""
    from confluent_kafka import KafkaException
    try:
        future.result(timeout=TIMEOUT_S)
        return None
    except KafkaException as e:
        return e.args[0].name()


def describe_error(e):
    from confluent_kafka import KafkaException
    if isinstance(e, KafkaException) and e.args:
        err = e.args[0]
        return f"{err.name()}: {err.str()}"
    return f"{type(e).__name__}: {e}"


def settle(condition, timeout=TIMEOUT_S):
    """Polls condition() (None when it holds, else why not) until it holds; fails the step with
    its last answer after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        why = condition()
        if why is None:
            return
        if time.monotonic() > deadline:
            fail(f"after {timeout:.0f} s: {why}")
        time.sleep(0.05)


def topic_partitions(admin, topic):
    """The topic's partition count in Metadata, None when Metadata says it does not exist.
    Asks for all topics: a Metadata request naming a topic may create it (auto-creation)."""
    md = admin.list_topics(timeout=TIMEOUT_S)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return None
    return len(t.partitions)


def describe_topic_config(admin, topic):
    from confluent_kafka.admin import ConfigResource
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = result(admin.describe_configs([res])[res], f"describe_configs {topic}")
    return {name: e.value for name, e in entries.items()}


def consume_all(group, topic, ends, name):
    """Reads the topic with a group consumer from the beginning until every partition reaches
    ends[p]; returns {partition: [(offset, key, value)]} in the order received. Fails on a
    duplicate offset or a record past the end."""
    from confluent_kafka import Consumer
    consumer = Consumer({"bootstrap.servers": KAFKA_BOOTSTRAP, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    got = {p: [] for p in ends}
    seen = set()
    deadline = time.monotonic() + TIMEOUT_S * 2
    try:
        while any(len(got[p]) < ends[p] for p in ends):
            expect(time.monotonic() < deadline,
                   f"{name}: the group consumer got {[len(got[p]) for p in sorted(got)]} records "
                   f"of {[ends[p] for p in sorted(ends)]} within {TIMEOUT_S * 2:.0f} s")
            m = consumer.poll(0.5)
            if m is None:
                continue
            expect(m.error() is None, f"{name}: consumer error {m.error()}")
            where = (m.partition(), m.offset())
            expect(where not in seen, f"{name}: partition {where[0]} offset {where[1]} delivered "
                   "twice")
            expect(m.offset() < ends[m.partition()],
                   f"{name}: partition {where[0]} offset {where[1]} is past the log end "
                   f"{ends[m.partition()]}")
            seen.add(where)
            got[m.partition()].append((m.offset(), m.key(), m.value()))
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return got


# --- the steps ------------------------------------------------------------------------------------

def topics_step(admin, topic):
    from confluent_kafka.admin import NewTopic
    step("topics: create_topics")
    futures = admin.create_topics(
        [NewTopic(topic, PARTITIONS, 1, config={"retention.ms": "86400000"})],
        request_timeout=TIMEOUT_S)
    result(futures[topic], f"create_topics {topic}")
    wait_for(f"{topic} with {PARTITIONS} partitions in Metadata",
             lambda: topic_partitions(admin, topic) == PARTITIONS, timeout=TIMEOUT_S)

    futures = admin.create_topics([NewTopic(topic + "-validate", PARTITIONS, 1)],
                                  validate_only=True, request_timeout=TIMEOUT_S)
    result(futures[topic + "-validate"], "create_topics validate_only")
    expect(topic_partitions(admin, topic + "-validate") is None,
           "a validate-only create_topics created the topic")

    futures = admin.create_topics([NewTopic(topic, PARTITIONS, 1)], request_timeout=TIMEOUT_S)
    name = error_name(futures[topic])
    expect(name == "TOPIC_ALREADY_EXISTS",
           f"create_topics of an existing topic: {name}; want TOPIC_ALREADY_EXISTS")

    step("topics: list_topics")
    md = admin.list_topics(timeout=TIMEOUT_S)
    expect(topic in md.topics, f"list_topics does not list {topic}: {sorted(md.topics)}")
    expect(len(md.topics[topic].partitions) == PARTITIONS,
           f"list_topics: {topic} has {len(md.topics[topic].partitions)} partitions")
    expect(len(md.brokers) >= 1, f"list_topics: no brokers ({md.brokers})")


def configs_step(admin, topic):
    from confluent_kafka.admin import ConfigResource
    step("configs: describe_configs")
    cfg = describe_topic_config(admin, topic)
    expect(cfg.get("retention.ms") == "86400000",
           f"retention.ms of a topic created with 86400000: {cfg.get('retention.ms')!r} "
           f"(entries {sorted(cfg)})")

    unknown = ConfigResource(ConfigResource.Type.TOPIC, topic + "-unknown")
    name = error_name(admin.describe_configs([unknown])[unknown])
    expect(name == "UNKNOWN_TOPIC_OR_PART",
           f"describe_configs of an unknown topic: {name}; want UNKNOWN_TOPIC_OR_PART "
           "(librdkafka's name of UNKNOWN_TOPIC_OR_PARTITION)")

    md = admin.list_topics(timeout=TIMEOUT_S)
    broker_id = str(next(iter(md.brokers)))
    broker = ConfigResource(ConfigResource.Type.BROKER, broker_id)
    entries = result(admin.describe_configs([broker])[broker],
                     f"describe_configs broker {broker_id}")
    expect(len(entries) > 0, f"describe_configs of broker {broker_id}: no entries")
    print(f"  broker {broker_id}: {len(entries)} entries, e.g. "
          f"{sorted(entries)[:6]}", flush=True)

    step("configs: alter_configs")
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"retention.ms": "7200000"})
    result(admin.alter_configs([res], validate_only=True)[res], "alter_configs validate_only")
    cfg = describe_topic_config(admin, topic)
    expect(cfg.get("retention.ms") == "86400000",
           f"a validate-only alter_configs changed retention.ms to {cfg.get('retention.ms')!r}")
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"retention.ms": "3600000"})
    result(admin.alter_configs([res])[res], "alter_configs retention.ms=3600000")
    cfg = describe_topic_config(admin, topic)
    expect(cfg.get("retention.ms") == "3600000",
           f"retention.ms read back after alter_configs: {cfg.get('retention.ms')!r}; want "
           "'3600000'")
    res = ConfigResource(ConfigResource.Type.TOPIC, topic,
                         set_config={"no.such.setting": "1"})
    name = error_name(admin.alter_configs([res])[res])
    expect(name == "INVALID_CONFIG", f"alter_configs of an unknown key: {name}; want "
           "INVALID_CONFIG")
    expect(describe_topic_config(admin, topic).get("retention.ms") == "3600000",
           "a refused alter_configs changed retention.ms")

    step("configs: incremental_alter_configs")
    # Written against the Debian binding; a newer one (2.2+) would have it: say so, then skip.
    has = "has" if hasattr(admin, "incremental_alter_configs") else "lacks"
    print(f"  skipped: the binding {has} incremental_alter_configs; librdkafka 2.0.2 has no "
          "IncrementalAlterConfigs", flush=True)


def partitions_step(admin, topic):
    from confluent_kafka.admin import NewPartitions
    step("partitions: create_partitions")
    futures = admin.create_partitions([NewPartitions(topic, 5)], validate_only=True,
                                      request_timeout=TIMEOUT_S)
    result(futures[topic], "create_partitions 5 validate_only")
    expect(topic_partitions(admin, topic) == PARTITIONS,
           "a validate-only create_partitions changed the count to "
           f"{topic_partitions(admin, topic)}")
    futures = admin.create_partitions([NewPartitions(topic, 5)], request_timeout=TIMEOUT_S)
    result(futures[topic], "create_partitions 3 -> 5")
    wait_for(f"{topic} with 5 partitions", lambda: topic_partitions(admin, topic) == 5,
             timeout=TIMEOUT_S)
    futures = admin.create_partitions([NewPartitions(topic, 2)], request_timeout=TIMEOUT_S)
    name = error_name(futures[topic])
    expect(name == "INVALID_PARTITIONS", f"create_partitions 5 -> 2: {name}; want "
           "INVALID_PARTITIONS")


def records_step(rd, topic):
    from confluent_kafka import Consumer, Producer, TopicPartition
    step("records: produce 10")
    producer = Producer({"bootstrap.servers": KAFKA_BOOTSTRAP, "acks": "all"})
    delivered = []
    for i in range(10):
        producer.produce(topic, key=b"dr-%d" % i, value=b"v-%d" % i, partition=0,
                         on_delivery=lambda err, m: delivered.append((err, m.offset())))
    expect(producer.flush(TIMEOUT_S) == 0, "10 records not delivered")
    expect([e for e, _ in delivered if e] == [], f"delivery errors: {delivered}")
    expect(sorted(o for _, o in delivered) == list(range(10)),
           f"offsets of 10 records on a fresh partition: {sorted(o for _, o in delivered)}")

    watermarks = Consumer({"bootstrap.servers": KAFKA_BOOTSTRAP, "group.id": "cadm-watermarks"})
    try:
        step("records: DeleteRecords before 4")
        top, out = rd.delete_records(topic, {0: 4})
        expect(top is None, f"DeleteRecords: {top}")
        expect(out.get(0) == (4, None), f"DeleteRecords before 4: {out}; want low watermark 4")
        low, high = watermarks.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S)
        expect((low, high) == (4, 10),
               f"watermarks after DeleteRecords: {(low, high)}; want (4, 10)")

        reader = Consumer({"bootstrap.servers": KAFKA_BOOTSTRAP, "group.id": "cadm-dr-reader",
                           "auto.offset.reset": "earliest", "enable.auto.commit": False})
        try:
            reader.assign([TopicPartition(topic, 0, 0)])  # below the log start
            offsets = []
            deadline = time.monotonic() + TIMEOUT_S
            while len(offsets) < 6 and time.monotonic() < deadline:
                m = reader.poll(0.5)
                if m is not None and m.error() is None:
                    offsets.append(m.offset())
            expect(offsets == list(range(4, 10)),
                   f"reading from offset 0 after DeleteRecords before 4: offsets {offsets}; want "
                   "4..9 (auto.offset.reset=earliest)")
        finally:
            reader.close()

        step("records: DeleteRecords before -1 and past the end")
        top, out = rd.delete_records(topic, {0: -1})
        expect(top is None and out.get(0) == (10, None),
               f"DeleteRecords before -1 (the high watermark): {top} {out}; want low watermark 10")
        low, high = watermarks.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S)
        expect((low, high) == (10, 10), f"watermarks: {(low, high)}; want (10, 10)")
        top, out = rd.delete_records(topic, {0: 50})
        got = top or (out.get(0) or (None, None))[1]
        expect(got is not None and got.startswith("OFFSET_OUT_OF_RANGE"),
               f"DeleteRecords past the high watermark: {top} {out}; want OFFSET_OUT_OF_RANGE")
    finally:
        watermarks.close()
        producer.flush(TIMEOUT_S)


def groups_step(admin, rd, topic):
    from confluent_kafka import Consumer, Producer
    idle, live, unknown = "cadm-idle", "cadm-live", "cadm-never-existed"
    step("groups: an idle group with committed offsets")
    producer = Producer({"bootstrap.servers": KAFKA_BOOTSTRAP})
    for p in range(PARTITIONS):
        for i in range(4):
            producer.produce(topic, value=b"g-%d" % i, partition=p)
    expect(producer.flush(TIMEOUT_S) == 0, "group records not delivered")
    got = consume_all(idle, topic, {p: 4 for p in range(PARTITIONS)}, "idle group")
    expect(all(len(got[p]) == 4 for p in got), f"idle group consumed {got}")
    committed = {tp.partition: tp.offset for tp in committed_offsets(idle, topic)}
    expect(committed == {p: 4 for p in range(PARTITIONS)},
           f"the idle group's committed offsets: {committed}; want 4 on each partition")

    step("groups: a live group")
    member = Consumer({"bootstrap.servers": KAFKA_BOOTSTRAP, "group.id": live,
                       "auto.offset.reset": "earliest"})
    assigned = []
    member.subscribe([topic], on_assign=lambda c, parts: assigned.extend(parts))
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while len(assigned) < PARTITIONS:
            expect(time.monotonic() < deadline, f"the live member got {assigned} within "
                   f"{TIMEOUT_S:.0f} s")
            member.poll(0.2)

        step("groups: list_groups")

        def groups_listed():
            listed = {g.id: g for g in admin.list_groups(timeout=TIMEOUT_S)}
            if idle not in listed or live not in listed:
                return f"list_groups: {sorted(listed)}; want {idle} and {live}"
            if listed[idle].state != "Empty" or listed[idle].members:
                return (f"list_groups: {idle} is {listed[idle].state} with "
                        f"{len(listed[idle].members)} members; want Empty, none")
            if listed[live].state != "Stable" or len(listed[live].members) != 1:
                return (f"list_groups: {live} is {listed[live].state} with "
                        f"{len(listed[live].members)} members; want Stable, 1")
            return None

        # The idle group's member left as it closed: bounded wait for the group to say so.
        settle(groups_listed)

        step("groups: ListConsumerGroups, DescribeConsumerGroups")
        top, states, errors = rd.list_consumer_groups()
        expect(top is None and not errors, f"ListConsumerGroups: {top} {errors}")
        expect(states.get(idle) == "Empty" and states.get(live) == "Stable",
               f"ListConsumerGroups: {states}; want {idle} Empty, {live} Stable")
        top, described = rd.describe_consumer_groups([idle, live])
        expect(top is None, f"DescribeConsumerGroups: {top}")
        err, state, members = described.get(idle, ("missing", None, None))
        expect(err is None and state == "Empty" and members == [],
               f"DescribeConsumerGroups {idle}: {err} {state} {members}; want Empty, no members")
        err, state, members = described.get(live, ("missing", None, None))
        want = [(topic, p) for p in range(PARTITIONS)]
        expect(err is None and state == "Stable" and len(members) == 1 and members[0][1] == want,
               f"DescribeConsumerGroups {live}: {err} {state} {members}; want Stable, one member "
               f"with {want}")

        step("groups: DeleteGroups")
        top, out = rd.delete_groups([idle, live, unknown])
        expect(top is None, f"DeleteGroups: {top}")
        expect(idle in out and out[idle] is None,
               f"DeleteGroups {idle} (no members): {out.get(idle)}")
        expect((out.get(live) or "").startswith("NON_EMPTY_GROUP"),
               f"DeleteGroups {live} (a live member): {out.get(live)}; want NON_EMPTY_GROUP")
        expect((out.get(unknown) or "").startswith("GROUP_ID_NOT_FOUND"),
               f"DeleteGroups {unknown}: {out.get(unknown)}; want GROUP_ID_NOT_FOUND")

        step("groups: after DeleteGroups")
        committed = {tp.partition: tp.offset for tp in committed_offsets(idle, topic)}
        expect(all(o < 0 for o in committed.values()),
               f"the deleted group's committed offsets: {committed}; want none")
        listed = {g.id: g for g in admin.list_groups(timeout=TIMEOUT_S)}
        expect(idle not in listed, f"list_groups still lists the deleted {idle}")
        expect(live in listed and listed[live].state == "Stable" and
               len(listed[live].members) == 1,
               f"after a refused DeleteGroups, {live} is {listed.get(live)}")
        member.poll(0.2)
        expect(len(member.assignment()) == PARTITIONS,
               f"the live member lost its partitions: {member.assignment()}")
    finally:
        member.close()


def committed_offsets(group, topic):
    """The group's committed offsets of the topic's partitions (OffsetFetch), without joining."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": KAFKA_BOOTSTRAP, "group.id": group})
    try:
        return c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)],
                           timeout=TIMEOUT_S)
    finally:
        c.close()


class LogCapture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def make_record(codec, i):
    key = b"%s-%04d\x00\xff" % (codec.encode(), i)
    if i % 11 == 5:
        value = b""
    else:
        value = (b"%s record %d; " % (codec.encode(), i)) * (1 + i % 40) + bytes([0, 255, i % 256])
    return key, value


def idempotent_step(admin, topic_prefix):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import NewTopic
    topics = []
    for codec in ["gzip", "snappy", "lz4", "zstd"]:
        topic = f"{topic_prefix}-{codec}"
        topics.append(topic)
        step(f"idempotent producer: {codec}")
        result(admin.create_topics([NewTopic(topic, PARTITIONS, 1)],
                                   request_timeout=TIMEOUT_S)[topic], f"create_topics {topic}")
        wait_for(f"{topic} in Metadata", lambda: topic_partitions(admin, topic) == PARTITIONS,
                 timeout=TIMEOUT_S)
        logger = logging.getLogger(f"rdkafka-{codec}")
        logger.setLevel(logging.DEBUG)
        capture = LogCapture()
        logger.addHandler(capture)
        producer = Producer({"bootstrap.servers": KAFKA_BOOTSTRAP, "enable.idempotence": True,
                             "acks": "all", "compression.type": codec, "linger.ms": 5,
                             "batch.num.messages": 25, "client.id": f"cadm-idem-{codec}",
                             "debug": "msg"},
                            logger=logger)
        delivered = {}  # (partition, offset) -> index
        errors = []

        def on_delivery(err, m):
            if err is not None:
                errors.append(err)
                return
            where = (m.partition(), m.offset())
            if where in delivered:
                errors.append(f"two records acknowledged at partition {where[0]} offset "
                              f"{where[1]}")
            delivered[where] = int(m.key()[len(codec) + 1:len(codec) + 5])

        try:
            for i in range(IDEMPOTENT_RECORDS):
                key, value = make_record(codec, i)
                producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
                producer.poll(0)
            left = producer.flush(TIMEOUT_S)
        except Exception as e:  # a fatal idempotence error surfaces as a KafkaException
            fail(f"producing: {describe_error(e)}")
        expect(left == 0, f"{left} records not delivered within {TIMEOUT_S:.0f} s")
        expect(not errors,
               f"{len(errors)} delivery errors; the first: {errors[0] if errors else ''}")
        expect(len(delivered) == IDEMPOTENT_RECORDS,
               f"{len(delivered)} deliveries of {IDEMPOTENT_RECORDS} records")
        # debug=msg: librdkafka logs each Produce's batch: "... ApiVersion 7, MsgVersion 2,
        # MsgId 1, BaseSeq 0, PID{Id:1000,Epoch:0}, zstd)", and "Broker does not support
        # compression type zstd: not compressing batch" when it falls back to none.
        batches = [l for l in capture.lines if "Produce MessageSet" in l]
        expect(batches, f"librdkafka (debug=msg) logged no Produce MessageSet lines; it logged "
               f"{len(capture.lines)} lines")
        bad = [l for l in capture.lines if "not compressing" in l or (
            "Produce MessageSet" in l and ("uncompressed)" in l or "PID{Invalid}" in l))]
        expect(not bad, f"librdkafka sent a batch uncompressed or without a producer id: "
               f"{bad[0] if bad else ''}")
        print(f"  {len(batches)} batches; the first: {batches[0].split(': ', 2)[-1]}", flush=True)

        ends = {}
        probe = Consumer({"bootstrap.servers": KAFKA_BOOTSTRAP, "group.id": "cadm-probe"})
        try:
            for p in range(PARTITIONS):
                low, high = probe.get_watermark_offsets(TopicPartition(topic, p),
                                                        timeout=TIMEOUT_S)
                acked = sorted(o for (q, o) in delivered if q == p)
                expect(low == 0 and high == len(acked) and acked == list(range(high)),
                       f"partition {p}: log [{low}, {high}), acknowledged offsets "
                       f"{acked[:5]}...({len(acked)}); want the same, dense from 0")
                ends[p] = high
        finally:
            probe.close()

        got = consume_all(f"cadm-idem-{codec}", topic, ends, codec)
        for p, records in got.items():
            last = -1
            for offset, key, value in records:
                i = delivered[(p, offset)]
                want_key, want_value = make_record(codec, i)
                expect(key == want_key and value == want_value,
                       f"{codec}: partition {p} offset {offset} is not record {i}: key {key!r}, "
                       f"value {len(value or b'')} bytes {(value or b'')[:30]!r}; want "
                       f"{want_key!r}, {len(want_value)} bytes")
                expect(i > last, f"{codec}: partition {p} offset {offset} holds record {i}, "
                       f"after record {last}: out of order")
                last = i
        producer.flush(TIMEOUT_S)
    return topics


def delete_step(admin, topics):
    step("delete_topics")
    futures = admin.delete_topics(topics, request_timeout=TIMEOUT_S)
    for t in topics:
        result(futures[t], f"delete_topics {t}")
    wait_for("the deleted topics gone from Metadata",
             lambda: not set(topics) & set(admin.list_topics(timeout=TIMEOUT_S).topics),
             timeout=TIMEOUT_S)


def test():
    import confluent_kafka
    from confluent_kafka.admin import AdminClient
    print(f"confluent-kafka-python {confluent_kafka.version()[0]}, librdkafka "
          f"{confluent_kafka.libversion()[0]}", flush=True)
    admin = AdminClient({"bootstrap.servers": KAFKA_BOOTSTRAP})
    rd = RdKafkaAdmin(KAFKA_BOOTSTRAP)
    # CONFLUENT_ADMIN_STEPS=groups,idempotent runs only those (while debugging one).
    steps = set(filter(None, os.environ.get("CONFLUENT_ADMIN_STEPS", "").split(","))) or {
        "topics", "configs", "partitions", "records", "groups", "idempotent", "delete"}
    try:
        topic, records_topic, groups_topic = "cadm-topic", "cadm-records", "cadm-groups"
        for t, n in [(topic, PARTITIONS), (records_topic, 1), (groups_topic, PARTITIONS)]:
            if t == topic and "topics" in steps:
                topics_step(admin, topic)  # creates it, with its checks
                continue
            step(f"create_topics {t}")
            result(admin.create_topics([confluent_kafka.admin.NewTopic(t, n, 1)],
                                       request_timeout=TIMEOUT_S)[t], f"create_topics {t}")
            wait_for(f"{t} in Metadata", lambda: topic_partitions(admin, t) == n,
                     timeout=TIMEOUT_S)
        if "configs" in steps:
            configs_step(admin, topic)
        if "partitions" in steps:
            partitions_step(admin, topic)
        if "records" in steps:
            records_step(rd, records_topic)
        if "groups" in steps:
            groups_step(admin, rd, groups_topic)
        idem_topics = idempotent_step(admin, "cadm-idem") if "idempotent" in steps else []
        if "delete" in steps:
            delete_step(admin, [topic, records_topic, groups_topic] + idem_topics)
    finally:
        rd.close()
    print(f"PASS ({time.monotonic() - START:.1f} s)", flush=True)


if __name__ == "__main__":
    main(test)
