#!/usr/bin/python3
"""Ferry's take on Kafka's getting-started producer: ten keyed records to `my-topic`.

Sends "Message 0" .. "Message 9" with keys "key-0" .. "key-9" in one Publish call (the batch
is stored atomically) and prints where each record landed. Creates the topic first when it
does not exist yet (and the caller may). Connection options (TLS, a user): ferry_channel.py.

Needs the stubs generated from proto/ferry/v1/ferry.proto on PYTHONPATH; see README.md.
"""

import argparse
import sys

import grpc

import ferry_channel

try:
    from ferry.v1 import ferry_pb2, ferry_pb2_grpc
except ImportError as e:
    sys.exit(f"producer.py: cannot import the Ferry stubs ({e}); generate them as README.md "
             "shows and put their directory on PYTHONPATH")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ferry_channel.add_arguments(parser)
    parser.add_argument("--topic", default="my-topic")
    parser.add_argument("--partitions", type=int, default=3,
                        help="partitions of the topic when this creates it")
    parser.add_argument("--count", type=int, default=10, help="records to send")
    args = parser.parse_args()

    with ferry_channel.open_channel(args) as channel:
        admin = ferry_pb2_grpc.AdminStub(channel)
        broker = ferry_pb2_grpc.BrokerStub(channel)
        try:
            admin.CreateTopic(
                ferry_pb2.CreateTopicRequest(topic=args.topic, partitions=args.partitions),
                timeout=10)
            print(f"Created topic {args.topic} with {args.partitions} partitions")
        except grpc.RpcError as e:
            # A user without Create (ACLs on) may still write to a topic an admin made.
            if e.code() not in (grpc.StatusCode.ALREADY_EXISTS,
                                grpc.StatusCode.PERMISSION_DENIED):
                raise

        records = [
            ferry_pb2.Record(key=f"key-{i}".encode(), value=f"Message {i}".encode())
            for i in range(args.count)
        ]
        response = broker.Publish(ferry_pb2.PublishRequest(topic=args.topic, records=records),
                                  timeout=10)
        for record, ack in zip(records, response.acks):
            print(f"Produced event to topic {args.topic}: key = {record.key.decode()} "
                  f"value = {record.value.decode()} (partition {ack.partition}, "
                  f"offset {ack.offset})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as e:
        sys.exit(f"producer.py: {e.code().name}: {e.details()}")
