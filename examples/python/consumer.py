#!/usr/bin/python3
"""Ferry's take on Kafka's getting-started consumer: group `my-group` reads `my-topic`.

Joins the group, opens the group's Subscribe stream (which carries the partitions the broker
assigns, then their records), prints each record and commits its offset. Where the group has
committed nothing it starts at the earliest record. Stops after --max-records records (0: run
until Ctrl-C), then leaves the group so its partitions move at once.

Needs the stubs generated from proto/ferry/v1/ferry.proto on PYTHONPATH; see README.md.
"""

import argparse
import sys

import grpc

import ferry_channel

try:
    from ferry.v1 import ferry_pb2, ferry_pb2_grpc
except ImportError as e:
    sys.exit(f"consumer.py: cannot import the Ferry stubs ({e}); generate them as README.md "
             "shows and put their directory on PYTHONPATH")


def commit(broker, group, member_id, generation, topic, partition, next_offset):
    """Commits `next_offset` (the offset of the next record to read) for one partition."""
    response = broker.CommitOffset(
        ferry_pb2.CommitOffsetRequest(
            group=group, member_id=member_id, generation=generation,
            offsets=[ferry_pb2.OffsetCommit(topic=topic, partition=partition,
                                            offset=next_offset)]),
        timeout=10)
    for result in response.results:
        if result.code != 0:
            print(f"commit of {result.topic}/{result.partition} failed: {result.message}",
                  file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ferry_channel.add_arguments(parser)
    parser.add_argument("--topic", default="my-topic")
    parser.add_argument("--group", default="my-group")
    parser.add_argument("--max-records", type=int, default=0,
                        help="stop after this many records (default 0: run until Ctrl-C)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="give up (exit 1) when the records have not arrived after this "
                             "many seconds")
    args = parser.parse_args()

    with ferry_channel.open_channel(args) as channel:
        broker = ferry_pb2_grpc.BrokerStub(channel)
        joined = broker.JoinGroup(
            ferry_pb2.JoinGroupRequest(group=args.group, topics=[args.topic],
                                       session_timeout_ms=10000),
            timeout=10)
        member_id, generation = joined.member_id, joined.generation
        print(f"Joined group {args.group} as {member_id} (generation {generation})")

        stream = broker.Subscribe(
            ferry_pb2.SubscribeRequest(group=ferry_pb2.GroupSubscription(
                group=args.group, member_id=member_id, generation=generation,
                offset_reset=ferry_pb2.OFFSET_RESET_EARLIEST)),
            timeout=args.timeout)
        consumed = 0
        try:
            for message in stream:
                if message.HasField("assignment"):
                    # The first message is the current assignment; later ones come with each
                    # rebalance. Commits carry the generation they were made in.
                    generation = message.assignment.generation
                    owned = ", ".join(f"{tp.topic}/{tp.partition}"
                                      for tp in message.assignment.assignment)
                    print(f"Assigned (generation {generation}): {owned or 'nothing'}")
                    if message.assignment.revoked:
                        # Records are handled one message at a time, so revoked partitions are
                        # done with: say so, and the broker hands them to their new owner (it
                        # waits for this answer, up to the rebalance timeout).
                        broker.Heartbeat(ferry_pb2.HeartbeatRequest(
                            group=args.group, member_id=member_id, generation=generation),
                            timeout=10)
                    continue
                last = None
                for record in message.records:
                    print(f"Consumed event from topic {message.topic}: "
                          f"key = {record.key.decode()} value = {record.value.decode()} "
                          f"(partition {message.partition}, offset {record.offset})")
                    consumed += 1
                    last = record.offset
                    if consumed == args.max_records:
                        break
                if last is not None:
                    commit(broker, args.group, member_id, generation, message.topic,
                           message.partition, last + 1)
                if consumed == args.max_records:
                    break
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                print(f"consumer.py: only {consumed} of {args.max_records} records arrived "
                      f"within {args.timeout} s", file=sys.stderr)
                return 1
            raise
        except KeyboardInterrupt:
            pass
        finally:
            stream.cancel()
            # Leaving hands the partitions to the other members at once, instead of after
            # the session timeout.
            broker.LeaveGroup(
                ferry_pb2.LeaveGroupRequest(group=args.group, member_id=member_id), timeout=10)
        print(f"Consumed {consumed} records; left group {args.group}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as e:
        sys.exit(f"consumer.py: {e.code().name}: {e.details()}")
