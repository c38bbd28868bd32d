#!/usr/bin/python3
"""Prints a consumer group's committed offsets and lag per partition (Admin.DescribeGroup).

Like `kafka-consumer-groups --describe --group my-group`, or `ferryctl group describe`.
Columns: TOPIC PARTITION MEMBER COMMITTED END LAG ('-': no owner / nothing committed).
"""

import argparse
import sys

import grpc

import ferry_channel

try:
    from ferry.v1 import ferry_pb2, ferry_pb2_grpc
except ImportError as e:
    sys.exit(f"describe_group.py: cannot import the Ferry stubs ({e}); generate them as "
             "README.md shows and put their directory on PYTHONPATH")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ferry_channel.add_arguments(parser)
    parser.add_argument("--group", default="my-group")
    args = parser.parse_args()

    with ferry_channel.open_channel(args) as channel:
        admin = ferry_pb2_grpc.AdminStub(channel)
        group = admin.DescribeGroup(ferry_pb2.DescribeGroupRequest(group=args.group), timeout=10)
    state = ferry_pb2.GroupState.Name(group.state).removeprefix("GROUP_STATE_")
    print(f"group {group.group}: state {state}, generation {group.generation}, "
          f"members {len(group.members)}")
    rows = [("TOPIC", "PARTITION", "MEMBER", "COMMITTED", "END", "LAG")]
    for p in group.partitions:
        rows.append((p.topic, str(p.partition), p.member_id or "-",
                     str(p.committed_offset) if p.committed_offset >= 0 else "-",
                     str(p.end_offset), str(p.lag)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as e:
        sys.exit(f"describe_group.py: {e.code().name}: {e.details()}")
