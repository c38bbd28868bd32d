#!/usr/bin/python3
"""Real Kafka clients over SASL_SSL against Ferry's ACL authorizer (sasl_run.sh starts ferryd
with users admin (super user), alice and bob, and no ACLs).

a. admin (confluent-kafka AdminClient, SCRAM-SHA-512) creates topic sasl-orders, 3 partitions.
b. alice with a wrong password is refused by kafka-python (SCRAM-SHA-256: bootstrap fails,
   with ferryd's kafka_authentication_failed; see wrong_password_kafka_python), confluent-kafka
   (SCRAM-SHA-512: _AUTHENTICATION through error_cb) and kcat (PLAIN: exits non-zero naming the
   SASL authentication error).
c. alice, authenticated but with no ACL, may not produce to sasl-orders: kafka-python raises
   TopicAuthorizationFailedError (see no_acl_kafka_python for a kafka-python 2.0.2 bug),
   confluent-kafka's delivery report says TOPIC_AUTHORIZATION_FAILED; ferryd logs
   kafka_authorization_denied for User:alice on the topic.
d. admin creates ACLs for User:alice (WRITE, DESCRIBE and READ on topic sasl-orders, READ on
   group sasl-group) and DescribeAcls lists exactly those. confluent-kafka-python 1.7.0 has no
   create_acls/describe_acls, so this is kafka-python's KafkaAdminClient (CreateAcls and
   DescribeAcls on the wire, as Kafka's own tools send them).
e. alice produces 100 records with each client, each with a mechanism of its own (kafka-python
   SCRAM-SHA-256, confluent-kafka SCRAM-SHA-512, kcat PLAIN); a confluent-kafka consumer as
   alice (SCRAM-SHA-256) in group sasl-group reads all 300 back; bob (no ACL) consuming in
   sasl-group gets GROUP_AUTHORIZATION_FAILED or TOPIC_AUTHORIZATION_FAILED and no record.
f. /metrics (plain HTTP): ferry_authentication_failures_total, ferry_authentications_total
   (mechanism SCRAM-SHA-512) and ferry_authorization_denials_total of door="kafka" are >= 1.

One PASS or FAIL line per check; every check runs (a failed one may make later ones fail too);
the exit status is 1 when any failed.
"""

import logging
import os
import subprocess
import sys
import time
import traceback

from kafka_test_lib import KAFKA_BOOTSTRAP, TestFailure, check, ferryd_log, metrics, series

TLS_DIR = os.environ["TLS_DIR"]
CA = os.path.join(TLS_DIR, "ca.pem")
TOPIC = "sasl-orders"
GROUP = "sasl-group"
PER_CLIENT = 100
ADMIN = ("admin", "admin-secret")
ALICE = ("alice", "wonderland")
BOB = ("bob", "builder")


def kafka_python_conf(user, mechanism):
    return {"bootstrap_servers": KAFKA_BOOTSTRAP, "security_protocol": "SASL_SSL",
            "ssl_cafile": CA, "sasl_mechanism": mechanism, "sasl_plain_username": user[0],
            "sasl_plain_password": user[1]}


def confluent_conf(user, mechanism):
    return {"bootstrap.servers": KAFKA_BOOTSTRAP, "security.protocol": "SASL_SSL",
            "ssl.ca.location": CA, "sasl.mechanisms": mechanism, "sasl.username": user[0],
            "sasl.password": user[1]}


def kcat_opts(user, mechanism):
    return ["-X", "security.protocol=SASL_SSL", "-X", f"ssl.ca.location={CA}",
            "-X", f"sasl.mechanisms={mechanism}", "-X", f"sasl.username={user[0]}",
            "-X", f"sasl.password={user[1]}"]


def kcat(*args, input=None, timeout=30):
    """Runs kcat against the test's ferryd; (exit status, stdout, stderr)."""
    try:
        proc = subprocess.run(["/usr/bin/kcat", "-b", KAFKA_BOOTSTRAP, *args], input=input,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TestFailure(f"kcat {' '.join(args)} did not exit within {timeout} s")
    return (proc.returncode, proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace").strip())


def poll_until(what, poll, done, timeout):
    """Calls poll() until done() is truthy; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout:.0f} s waiting for {what}")
        poll()


# a. ----------------------------------------------------------------------------------------

def admin_creates_topic():
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient(confluent_conf(ADMIN, "SCRAM-SHA-512"))
    futures = admin.create_topics([NewTopic(TOPIC, 3, 1)], request_timeout=15)
    futures[TOPIC].result(timeout=20)
    md = admin.list_topics(TOPIC, timeout=15)
    topic = md.topics.get(TOPIC)
    check(topic is not None and topic.error is None and len(topic.partitions) == 3,
          f"admin's metadata for {TOPIC}: {topic and (topic.error, len(topic.partitions))}")
    return f"admin (SCRAM-SHA-512) created {TOPIC} with 3 partitions"


# b. ----------------------------------------------------------------------------------------

def log_count(event, *fields):
    """How many lines of ferryd's log have event=EVENT and every one of fields."""
    return sum(1 for line in ferryd_log().splitlines()
               if f"event={event} " in line and all(f in line for f in fields))


class Records(logging.Handler):
    """Keeps the log records of a logger (kafka-python's) while in a with block."""

    def __init__(self, logger):
        super().__init__(logging.DEBUG)
        self.logger = logging.getLogger(logger)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def __enter__(self):
        self.logger.addHandler(self)
        self.level_before = self.logger.level
        self.logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level_before)


def wrong_password_kafka_python():
    # kafka-python 2.0.2 authenticates with SaslHandshake v0 and raw SASL tokens, where a
    # broker (Kafka as Ferry) answers a failed exchange by closing the connection (KIP-152):
    # the client sees its connection reset mid-exchange, never an error code, and its bootstrap
    # (the version probe) ends in NoBrokersAvailable. So: that, kafka-python's own log of the
    # reset during the SCRAM exchange, and ferryd's kafka_authentication_failed for it.
    import kafka.errors
    from kafka import KafkaProducer
    failed_before = log_count("kafka_authentication_failed", "mechanism=SCRAM-SHA-256")
    start = time.monotonic()
    with Records("kafka.conn") as conn_log:
        try:
            producer = KafkaProducer(**kafka_python_conf(("alice", "wrong"), "SCRAM-SHA-256"),
                                     max_block_ms=5000, api_version_auto_timeout_ms=3000)
        except (kafka.errors.AuthenticationFailedError, kafka.errors.NoBrokersAvailable) as e:
            refused = e
        else:
            producer.close(timeout=5)
            raise TestFailure("kafka-python bootstrapped with a wrong password")
    took = time.monotonic() - start
    resets = [r for r in conn_log.records
              if r.levelno >= logging.ERROR and "Error receiving reply" in r.getMessage()]
    failed = log_count("kafka_authentication_failed", "mechanism=SCRAM-SHA-256") - failed_before
    check(failed >= 1, "ferryd logged no kafka_authentication_failed for SCRAM-SHA-256 while "
                       f"kafka-python was refused with {refused!r}")
    check(isinstance(refused, kafka.errors.AuthenticationFailedError) or resets,
          f"kafka-python raised {refused!r} with no SASL exchange reset in its log")
    return (f"kafka-python raised {refused!r} after {took:.1f} s ({len(resets)} SASL "
            f"exchanges reset, e.g. {resets[0].exc_info[1]!r}); ferryd logged {failed} "
            "kafka_authentication_failed mechanism=SCRAM-SHA-256")


def wrong_password_confluent():
    from confluent_kafka import KafkaError, Producer
    errors = []
    delivered = []
    producer = Producer({**confluent_conf(("alice", "wrong"), "SCRAM-SHA-512"),
                         "error_cb": errors.append, "message.timeout.ms": 15000})
    producer.produce(TOPIC, b"never", on_delivery=lambda e, m: delivered.append(e))

    def auth_error():
        return [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
    poll_until("confluent-kafka's _AUTHENTICATION error", lambda: producer.poll(0.2),
               lambda: auth_error() or delivered, timeout=15)
    producer.purge()
    producer.flush(5)
    check(auth_error(), f"confluent-kafka with a wrong password: errors {errors}, "
                        f"delivery {delivered}")
    check(all(e is not None for e in delivered), "confluent-kafka delivered with a wrong "
                                                 "password")
    return f"confluent-kafka error_cb: {auth_error()[0].str()}"


def wrong_password_kcat():
    rc, _, err = kcat(*kcat_opts(("alice", "wrong"), "PLAIN"), "-L", "-t", TOPIC, "-m", "5",
                      timeout=20)
    check(rc != 0, f"kcat -L with a wrong password exited 0: {err}")
    check("authentication" in err.lower(), f"kcat's error names no authentication: {err}")
    line = next(line for line in err.splitlines() if "authentication" in line.lower())
    return f"kcat exited {rc}: {line.strip()}"


# c. ----------------------------------------------------------------------------------------

def no_acl_kafka_python():
    # kafka-python 2.0.2 ignores the topic error of a Metadata answer naming one topic
    # (dpkp/kafka-python#2078, fixed by #2640 in 2.2): a send to one unauthorized topic just
    # times out. Once its metadata names two topics it reads their errors, and send raises
    # TopicAuthorizationFailedError. So the first send (to another topic alice may not use)
    # may time out; the one to sasl-orders must raise.
    import kafka.errors
    from kafka import KafkaProducer
    producer = KafkaProducer(**kafka_python_conf(ALICE, "SCRAM-SHA-256"), max_block_ms=3000)
    try:
        try:
            producer.send("sasl-elsewhere", b"unauthorized").get(timeout=5)
            raise TestFailure("kafka-python produced to sasl-elsewhere as alice without an ACL")
        except (kafka.errors.TopicAuthorizationFailedError, kafka.errors.KafkaTimeoutError):
            pass
        producer.send(TOPIC, b"unauthorized").get(timeout=10)
    except kafka.errors.TopicAuthorizationFailedError as e:
        return f"kafka-python: {e!r}"
    except kafka.errors.KafkaError as e:
        raise TestFailure(f"kafka-python as alice without an ACL: {e!r}, not "
                          "TopicAuthorizationFailedError")
    finally:
        producer.close(timeout=5)
    raise TestFailure("kafka-python produced as alice without an ACL")


def no_acl_confluent():
    from confluent_kafka import KafkaError, Producer
    delivered = []
    producer = Producer({**confluent_conf(ALICE, "SCRAM-SHA-512"), "message.timeout.ms": 15000})
    producer.produce(TOPIC, b"unauthorized", on_delivery=lambda e, m: delivered.append(e))
    left = producer.flush(20)
    check(left == 0 and len(delivered) == 1, f"confluent-kafka: no delivery report ({left} left)")
    err = delivered[0]
    check(err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED,
          f"confluent-kafka as alice without an ACL: delivery {err}, not "
          "TOPIC_AUTHORIZATION_FAILED")
    return f"confluent-kafka delivery report: {err.str()}"


def no_acl_logged():
    denied = [line for line in ferryd_log().splitlines()
              if "event=kafka_authorization_denied " in line and "principal=User:alice " in line
              and f"resource=topic:{TOPIC}" in line]
    check(denied, f"ferryd logged no kafka_authorization_denied for User:alice on {TOPIC}")
    return f"{len(denied)} kafka_authorization_denied lines, e.g. {denied[0].strip()}"


# d. ----------------------------------------------------------------------------------------

def alice_acls():
    from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             ResourcePattern, ResourceType)
    topic = ResourcePattern(ResourceType.TOPIC, TOPIC, ACLResourcePatternType.LITERAL)
    group = ResourcePattern(ResourceType.GROUP, GROUP, ACLResourcePatternType.LITERAL)
    return [ACL("User:alice", "*", op, ACLPermissionType.ALLOW, pattern)
            for op, pattern in ((ACLOperation.WRITE, topic), (ACLOperation.DESCRIBE, topic),
                                (ACLOperation.READ, topic), (ACLOperation.READ, group))]


def acl_key(acl):
    p = acl.resource_pattern
    return (acl.principal, acl.host, acl.operation.name, acl.permission_type.name,
            p.resource_type.name, p.resource_name, p.pattern_type.name)


def admin_creates_acls():
    from kafka.admin import KafkaAdminClient
    admin = KafkaAdminClient(**kafka_python_conf(ADMIN, "SCRAM-SHA-256"),
                             request_timeout_ms=15000, api_version_auto_timeout_ms=10000)
    try:
        result = admin.create_acls(alice_acls())
    finally:
        admin.close()
    check(not result["failed"], f"CreateAcls failed: {result['failed']}")
    check(len(result["succeeded"]) == 4, f"CreateAcls succeeded for {result['succeeded']}")
    return "kafka-python KafkaAdminClient (admin, SCRAM-SHA-256) created 4 ACLs for User:alice"


def admin_describes_acls():
    from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             KafkaAdminClient, ResourcePatternFilter, ResourceType)
    from kafka.errors import NoError
    admin = KafkaAdminClient(**kafka_python_conf(ADMIN, "SCRAM-SHA-256"),
                             request_timeout_ms=15000, api_version_auto_timeout_ms=10000)
    try:
        acls, error = admin.describe_acls(ACLFilter(
            principal=None, host=None, operation=ACLOperation.ANY,
            permission_type=ACLPermissionType.ANY,
            resource_pattern=ResourcePatternFilter(ResourceType.ANY, None,
                                                   ACLResourcePatternType.ANY)))
    finally:
        admin.close()
    check(error is NoError, f"DescribeAcls: {error}")
    got = sorted(acl_key(a) for a in acls)
    want = sorted(acl_key(a) for a in alice_acls())
    check(got == want, f"DescribeAcls listed {got}, created {want}")
    return "DescribeAcls lists " + "; ".join(f"{k[2]} {k[4]}:{k[5]}" for k in got)


# e. ----------------------------------------------------------------------------------------

def produce_kafka_python():
    from kafka import KafkaProducer
    producer = KafkaProducer(**kafka_python_conf(ALICE, "SCRAM-SHA-256"), max_block_ms=15000)
    try:
        futures = [producer.send(TOPIC, f"kafka-python {i}".encode())
                   for i in range(PER_CLIENT)]
        producer.flush(timeout=20)
        for f in futures:
            f.get(timeout=1)
    finally:
        producer.close(timeout=5)
    return f"kafka-python (alice, SCRAM-SHA-256) produced {PER_CLIENT} records"


def produce_confluent():
    from confluent_kafka import Producer
    producer = Producer({**confluent_conf(ALICE, "SCRAM-SHA-512"), "message.timeout.ms": 20000})
    errors = []
    for i in range(PER_CLIENT):
        producer.produce(TOPIC, f"confluent {i}".encode(),
                         on_delivery=lambda e, m: e and errors.append(e))
    left = producer.flush(25)
    check(left == 0 and not errors, f"confluent-kafka produce: {left} undelivered, {errors[:3]}")
    return f"confluent-kafka (alice, SCRAM-SHA-512) produced {PER_CLIENT} records"


def produce_kcat():
    lines = "".join(f"kcat {i}\n" for i in range(PER_CLIENT)).encode()
    rc, _, err = kcat(*kcat_opts(ALICE, "PLAIN"), "-P", "-t", TOPIC, input=lines, timeout=30)
    check(rc == 0, f"kcat -P as alice (PLAIN) exited {rc}: {err}")
    return f"kcat (alice, PLAIN) produced {PER_CLIENT} records"


def consume_alice():
    from confluent_kafka import Consumer
    want = sorted(f"{who} {i}" for who in ("kafka-python", "confluent", "kcat")
                  for i in range(PER_CLIENT))
    consumer = Consumer({**confluent_conf(ALICE, "SCRAM-SHA-256"), "group.id": GROUP,
                         "auto.offset.reset": "earliest"})
    got, errors = [], []
    try:
        consumer.subscribe([TOPIC])

        def poll():
            m = consumer.poll(0.5)
            if m is None:
                return
            if m.error() is not None:
                errors.append(m.error())
            else:
                got.append(m.value().decode())
        try:
            poll_until(f"alice's {len(want)} records", poll, lambda: len(got) >= len(want),
                       timeout=30)
        except TestFailure as e:
            raise TestFailure(f"{e}: {len(got)} read, errors {errors[:3]}")
    finally:
        consumer.close()
    check(sorted(got) == want, f"alice read {len(got)} records ({len(set(got))} distinct), "
                               f"produced {len(want)}")
    return f"confluent-kafka consumer (alice, SCRAM-SHA-256, {GROUP}) read all {len(want)}"


def consume_bob():
    from confluent_kafka import Consumer, KafkaError
    denied = (KafkaError.GROUP_AUTHORIZATION_FAILED, KafkaError.TOPIC_AUTHORIZATION_FAILED)
    consumer = Consumer({**confluent_conf(BOB, "SCRAM-SHA-256"), "group.id": GROUP,
                         "auto.offset.reset": "earliest"})
    got, errors = [], []
    try:
        consumer.subscribe([TOPIC])

        def poll():
            m = consumer.poll(0.5)
            if m is not None:
                (got if m.error() is None else errors).append(m.error() or m.value())
        poll_until("bob's authorization error",
                   poll, lambda: got or any(e.code() in denied for e in errors), timeout=20)
    finally:
        consumer.close()
    check(not got, f"bob read {len(got)} records from {TOPIC}")
    e = next(e for e in errors if e.code() in denied)
    return f"bob's consumer: {e.name()}: {e.str()}"


# f. ----------------------------------------------------------------------------------------

def security_metrics():
    samples = metrics()
    failures = series(samples, "ferry_authentication_failures_total", door="kafka")
    scram512 = series(samples, "ferry_authentications_total", door="kafka",
                      mechanism="SCRAM-SHA-512")
    denials = series(samples, "ferry_authorization_denials_total", door="kafka")
    total = {name: sum(v for _, v in s) for name, s in
             (("failures", failures), ("SCRAM-SHA-512", scram512), ("denials", denials))}
    check(all(v >= 1 for v in total.values()),
          "door=\"kafka\" security metrics: ferry_authentication_failures_total "
          f"{failures}, ferry_authentications_total{{mechanism=\"SCRAM-SHA-512\"}} "
          f"{scram512}, ferry_authorization_denials_total {denials}; other doors: "
          f"{series(samples, 'ferry_authentications_total')}")
    return ", ".join(f"{k} {v:g}" for k, v in total.items())


CHECKS = [
    ("a. admin creates the topic", admin_creates_topic),
    ("b. wrong password: kafka-python", wrong_password_kafka_python),
    ("b. wrong password: confluent-kafka", wrong_password_confluent),
    ("b. wrong password: kcat", wrong_password_kcat),
    ("c. no ACL: kafka-python produce", no_acl_kafka_python),
    ("c. no ACL: confluent-kafka produce", no_acl_confluent),
    ("c. no ACL: ferryd's log", no_acl_logged),
    ("d. admin creates alice's ACLs", admin_creates_acls),
    ("d. admin describes the ACLs", admin_describes_acls),
    ("e. alice produces: kafka-python SCRAM-SHA-256", produce_kafka_python),
    ("e. alice produces: confluent-kafka SCRAM-SHA-512", produce_confluent),
    ("e. alice produces: kcat PLAIN", produce_kcat),
    ("e. alice consumes in the group", consume_alice),
    ("e. bob may not consume", consume_bob),
    ("f. security metrics", security_metrics),
]


def main():
    failed = 0
    start = time.monotonic()
    for name, run in CHECKS:
        t = time.monotonic()
        try:
            detail = run()
            print(f"PASS: {name} ({time.monotonic() - t:.1f} s): {detail}")
        except TestFailure as e:
            failed += 1
            print(f"FAIL: {name} ({time.monotonic() - t:.1f} s): {e}")
        except Exception as e:  # a client's exception that is not one a check expects
            failed += 1
            print(f"FAIL: {name} ({time.monotonic() - t:.1f} s): {e!r}")
            traceback.print_exc()
    print(f"{len(CHECKS) - failed} of {len(CHECKS)} checks passed in "
          f"{time.monotonic() - start:.1f} s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
