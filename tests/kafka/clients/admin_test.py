#!/usr/bin/python3
"""kafka-python's KafkaAdminClient against Ferry's Kafka listener: create a topic,
describe_configs (topic and broker), alter_configs (in force at once: ferryctl shows it, and a
record over the new max.message.bytes is refused), errors per resource (unknown key, unknown
topic), create_partitions (grow, validate_only, not growing: INVALID_PARTITIONS with Ferry's
message). Restarts are covered by tests/kafka/kafka_admin_test.cc."""

from kafka import KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic
from kafka.errors import InvalidPartitionsError, MessageSizeTooLargeError

from kafka_test_lib import KAFKA_BOOTSTRAP, check, ferryctl, main

TOPIC = "admin-topic"


def topic_configs(admin, topic, include_synonyms=False):
    responses = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)],
                                       include_synonyms=include_synonyms)
    check(len(responses) == 1, f"one DescribeConfigs response, got {responses}")
    resources = responses[0].resources
    check(len(resources) == 1, f"one resource, got {resources}")
    error_code, error_message, _, name, entries = resources[0]
    return error_code, error_message, {e[0]: e for e in entries}


def test():
    admin = KafkaAdminClient(bootstrap_servers=KAFKA_BOOTSTRAP, request_timeout_ms=20000)
    admin.create_topics([NewTopic(TOPIC, num_partitions=2, replication_factor=1,
                                  topic_configs={"retention.ms": "3600000"})])

    # describe_configs: a topic (v0-2 as kafka-python picks, synonyms) and the broker.
    for synonyms in (False, True):
        code, message, entries = topic_configs(admin, TOPIC, synonyms)
        check(code == 0, f"describe {TOPIC}: error {code} {message}")
        check(entries["retention.ms"][1] == "3600000", f"retention.ms: {entries['retention.ms']}")
        check(entries["retention.bytes"][1] == "-1", f"retention.bytes: {entries['retention.bytes']}")
        check(entries["cleanup.policy"][1] == "delete" and entries["cleanup.policy"][2],
              f"cleanup.policy: {entries['cleanup.policy']}")
        if synonyms:
            names = [s[0] for s in entries["retention.ms"][5]]
            check(names == ["retention.ms", "log.retention.ms"], f"synonyms: {names}")
    broker = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "0")])
    error_code, _, _, _, entries = broker[0].resources[0]
    check(error_code == 0, f"broker resource error {error_code}")
    broker_configs = {e[0]: e[1] for e in entries}
    check("message.max.bytes" in broker_configs, f"broker configs: {broker_configs}")
    print("describe_configs:", {k: v[1] for k, v in entries_of(admin).items()})

    code, message, _ = topic_configs(admin, "no-such-topic")
    check(code == 3, f"unknown topic: error {code} {message}, want 3 UNKNOWN_TOPIC_OR_PARTITION")

    # alter_configs replaces the topic's set; in force at once on both doors.
    response = admin.alter_configs([ConfigResource(
        ConfigResourceType.TOPIC, TOPIC,
        configs={"retention.ms": "7200000", "max.message.bytes": "2000"})])
    check(response.resources[0][0] == 0, f"alter_configs: {response.resources}")
    _, _, entries = topic_configs(admin, TOPIC)
    check(entries["retention.ms"][1] == "7200000", f"after alter: {entries['retention.ms']}")
    check(entries["max.message.bytes"][1] == "2000", f"after alter: {entries['max.message.bytes']}")
    described = ferryctl("topic", "describe", TOPIC)
    check("retention_ms 7200000" in described and "max_record_bytes 2000" in described,
          f"ferryctl topic describe: {described}")
    producer = KafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, max_block_ms=20000,
                             max_request_size=1 << 20, retries=0)
    producer.send(TOPIC, value=b"x" * 100, partition=0).get(timeout=20)
    try:
        producer.send(TOPIC, value=b"x" * 3000, partition=0).get(timeout=20)
        raise AssertionError("a 3000-byte record was accepted over max.message.bytes=2000")
    except MessageSizeTooLargeError as e:
        print(f"3000-byte record refused: {e!r}")
    producer.close()

    response = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC,
                                                   configs={"segment.bytes": "1024"})])
    code, message = response.resources[0][0], response.resources[0][1]
    check(code == 40 and "segment.bytes" in message, f"unknown key: {code} {message}")
    response = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "no-such-topic",
                                                   configs={"retention.ms": "1000"})])
    check(response.resources[0][0] == 3, f"alter unknown topic: {response.resources}")

    # create_partitions: validate_only, grow, not growing.
    response = admin.create_partitions({TOPIC: NewPartitions(total_count=4)}, validate_only=True)
    check(response.topic_errors[0][1] == 0, f"validate_only: {response.topic_errors}")
    check("2 partitions" in ferryctl("topic", "describe", TOPIC), "validate_only grew the topic")
    response = admin.create_partitions({TOPIC: NewPartitions(total_count=4)})
    check(response.topic_errors[0][1] == 0, f"create_partitions: {response.topic_errors}")
    check("4 partitions" in ferryctl("topic", "describe", TOPIC), "the topic did not grow")
    try:
        admin.create_partitions({TOPIC: NewPartitions(total_count=3)})
        raise AssertionError("shrinking to 3 partitions was accepted")
    except InvalidPartitionsError as e:
        check("has 4 partitions" in str(e), f"shrinking: {e}")
    admin.close()
    print("kafka-python admin: describe_configs, alter_configs, create_partitions OK")


def entries_of(admin):
    return topic_configs(admin, TOPIC)[2]


if __name__ == "__main__":
    main(test)
