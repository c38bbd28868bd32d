// Where each served API's response carries its error codes, by Kafka's message schemas
// (clients/src/main/resources/common/message/*Response.json). Only the fields before and
// around the codes are walked; a version whose layout is not written here gives nullopt.
#include "server/kafka/response_codes.h"

#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {
namespace {

// The first non-zero code seen, else 0.
struct FirstCode {
  int16_t code = 0;
  void See(int16_t c) {
    if (code == 0) code = c;
  }
};

void SkipInt32Array(Reader& r) {
  const int32_t n = r.ArrayCount(4);
  for (int32_t i = 0; i < n && r.ok(); ++i) r.Int32();
}

// A throttle time, then the top-level error code.
std::optional<int16_t> ThrottleThenCode(Reader& r, bool throttle) {
  if (throttle) r.Int32();
  const int16_t code = r.Int16();
  if (!r.ok()) return std::nullopt;
  return code;
}

std::optional<int16_t> Produce(Reader& r, int16_t v) {
  if (v > 9) return std::nullopt;
  FirstCode first;
  const int32_t topics = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    r.String();
    const int32_t parts = r.ArrayCount(14);
    for (int32_t j = 0; j < parts && r.ok(); ++j) {
      r.Int32();
      first.See(r.Int16());
      r.Int64();
      if (v >= 2) r.Int64();
      if (v >= 5) r.Int64();
      if (v >= 8) {
        const int32_t errors = r.ArrayCount(4);
        for (int32_t k = 0; k < errors && r.ok(); ++k) {
          r.Int32();
          r.NullableString();
          r.TaggedFields();
        }
        r.NullableString();
      }
      r.TaggedFields();
    }
    r.TaggedFields();
  }
  if (!r.ok()) return std::nullopt;
  return first.code;
}

std::optional<int16_t> Fetch(Reader& r, int16_t v) {
  if (v > 12) return std::nullopt;  // v13 names topics by id
  FirstCode first;
  if (v >= 1) r.Int32();
  if (v >= 7) {
    first.See(r.Int16());
    r.Int32();
  }
  const int32_t topics = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    r.String();
    const int32_t parts = r.ArrayCount(14);
    for (int32_t j = 0; j < parts && r.ok(); ++j) {
      r.Int32();
      first.See(r.Int16());
      r.Int64();
      if (v >= 4) r.Int64();
      if (v >= 5) r.Int64();
      if (v >= 4) {
        const int32_t aborted = r.NullableArrayCount(16);
        for (int32_t k = 0; k < aborted && r.ok(); ++k) {
          r.Int64();
          r.Int64();
          r.TaggedFields();
        }
      }
      if (v >= 11) r.Int32();
      r.NullableBytes();
      r.TaggedFields();
    }
    r.TaggedFields();
  }
  if (!r.ok()) return std::nullopt;
  return first.code;
}

std::optional<int16_t> ListOffsets(Reader& r, int16_t v) {
  if (v > 8) return std::nullopt;
  FirstCode first;
  if (v >= 2) r.Int32();
  const int32_t topics = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    r.String();
    const int32_t parts = r.ArrayCount(6);
    for (int32_t j = 0; j < parts && r.ok(); ++j) {
      r.Int32();
      first.See(r.Int16());
      if (v == 0) {
        const int32_t n = r.ArrayCount(8);
        for (int32_t k = 0; k < n && r.ok(); ++k) r.Int64();
      } else {
        r.Int64();
        r.Int64();
        if (v >= 4) r.Int32();
      }
      r.TaggedFields();
    }
    r.TaggedFields();
  }
  if (!r.ok()) return std::nullopt;
  return first.code;
}

std::optional<int16_t> Metadata(Reader& r, int16_t v) {
  if (v > 12) return std::nullopt;
  FirstCode first;
  if (v >= 3) r.Int32();
  const int32_t brokers = r.ArrayCount(4 + kMinString + 4);
  for (int32_t i = 0; i < brokers && r.ok(); ++i) {
    r.Int32();
    r.String();
    r.Int32();
    if (v >= 1) r.NullableString();
    r.TaggedFields();
  }
  if (v >= 2) r.NullableString();
  if (v >= 1) r.Int32();
  const int32_t topics = r.ArrayCount(2 + kMinString);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    first.See(r.Int16());
    r.NullableString();
    if (v >= 10) r.Bytes(16);
    if (v >= 1) r.Bool();
    const int32_t parts = r.ArrayCount(10);
    for (int32_t j = 0; j < parts && r.ok(); ++j) {
      first.See(r.Int16());
      r.Int32();
      r.Int32();
      if (v >= 7) r.Int32();
      SkipInt32Array(r);
      SkipInt32Array(r);
      if (v >= 5) SkipInt32Array(r);
      r.TaggedFields();
    }
    if (v >= 8) r.Int32();
    r.TaggedFields();
  }
  if (v >= 8 && v <= 10) r.Int32();
  if (!r.ok()) return std::nullopt;
  return first.code;
}

std::optional<int16_t> OffsetCommit(Reader& r, int16_t v) {
  if (v > 8) return std::nullopt;
  FirstCode first;
  if (v >= 3) r.Int32();
  const int32_t topics = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    r.String();
    const int32_t parts = r.ArrayCount(6);
    for (int32_t j = 0; j < parts && r.ok(); ++j) {
      r.Int32();
      first.See(r.Int16());
      r.TaggedFields();
    }
    r.TaggedFields();
  }
  if (!r.ok()) return std::nullopt;
  return first.code;
}

// OffsetFetch's topics: the first non-zero partition code.
int16_t OffsetFetchTopics(Reader& r, int16_t v) {
  FirstCode partitions;
  const int32_t topics = r.ArrayCount(r.flexible() ? 3 : kMinString + 4);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    r.String();
    const int32_t parts = r.ArrayCount(16);
    for (int32_t j = 0; j < parts && r.ok(); ++j) {
      r.Int32();
      r.Int64();
      if (v >= 5) r.Int32();
      r.NullableString();
      partitions.See(r.Int16());
      r.TaggedFields();
    }
    r.TaggedFields();
  }
  return partitions.code;
}

std::optional<int16_t> OffsetFetch(Reader& r, int16_t v) {
  if (v > 8) return std::nullopt;
  if (v >= 3) r.Int32();
  FirstCode first;
  if (v <= 7) {
    const int16_t partitions = OffsetFetchTopics(r, v);
    if (v >= 2) first.See(r.Int16());  // the top-level code first, then the partitions'
    first.See(partitions);
  } else {
    // v8: per group, its code first, then its partitions'.
    const int32_t groups = r.ArrayCount(3);
    for (int32_t i = 0; i < groups && r.ok(); ++i) {
      r.String();
      const int16_t partitions = OffsetFetchTopics(r, v);
      first.See(r.Int16());
      first.See(partitions);
      r.TaggedFields();
    }
  }
  if (!r.ok()) return std::nullopt;
  return first.code;
}

std::optional<int16_t> FindCoordinator(Reader& r, int16_t v) {
  if (v > 4) return std::nullopt;
  if (v <= 3) return ThrottleThenCode(r, v >= 1);
  FirstCode first;
  r.Int32();
  const int32_t coordinators = r.ArrayCount(3);
  for (int32_t i = 0; i < coordinators && r.ok(); ++i) {
    r.String();
    r.Int32();
    r.String();
    r.Int32();
    first.See(r.Int16());
    r.NullableString();
    r.TaggedFields();
  }
  if (!r.ok()) return std::nullopt;
  return first.code;
}

// v3+: the top-level code, then each member's.
std::optional<int16_t> LeaveGroup(Reader& r, int16_t v) {
  if (v > 5) return std::nullopt;
  if (v <= 2) return ThrottleThenCode(r, v >= 1);
  FirstCode first;
  r.Int32();
  first.See(r.Int16());
  const int32_t members = r.ArrayCount(3);
  for (int32_t i = 0; i < members && r.ok(); ++i) {
    r.String();
    r.NullableString();
    first.See(r.Int16());
    r.TaggedFields();
  }
  if (!r.ok()) return std::nullopt;
  return first.code;
}

std::optional<int16_t> DeleteGroups(Reader& r, int16_t v) {
  if (v > 2) return std::nullopt;
  FirstCode first;
  r.Int32();
  const int32_t groups = r.ArrayCount(3);
  for (int32_t i = 0; i < groups && r.ok(); ++i) {
    r.String();
    first.See(r.Int16());
    r.TaggedFields();
  }
  if (!r.ok()) return std::nullopt;
  return first.code;
}

std::optional<int16_t> OffsetDelete(Reader& r, int16_t v) {
  if (v > 0) return std::nullopt;
  FirstCode first;
  first.See(r.Int16());
  r.Int32();
  const int32_t topics = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    r.String();
    const int32_t parts = r.ArrayCount(6);
    for (int32_t j = 0; j < parts && r.ok(); ++j) {
      r.Int32();
      first.See(r.Int16());
    }
  }
  if (!r.ok()) return std::nullopt;
  return first.code;
}

std::optional<int16_t> DescribeGroups(Reader& r, int16_t v) {
  if (v > 5) return std::nullopt;
  FirstCode first;
  if (v >= 1) r.Int32();
  const int32_t groups = r.ArrayCount(2 + 4 * kMinString + 4);
  for (int32_t i = 0; i < groups && r.ok(); ++i) {
    first.See(r.Int16());
    for (int k = 0; k < 4; ++k) r.String();
    const int32_t members = r.ArrayCount(3 * kMinString + 8);
    for (int32_t j = 0; j < members && r.ok(); ++j) {
      r.String();
      if (v >= 4) r.NullableString();
      r.String();
      r.String();
      r.BytesField();
      r.BytesField();
      r.TaggedFields();
    }
    if (v >= 3) r.Int32();
    r.TaggedFields();
  }
  if (!r.ok()) return std::nullopt;
  return first.code;
}

std::optional<int16_t> CreateTopics(Reader& r, int16_t v) {
  if (v > 7) return std::nullopt;
  FirstCode first;
  if (v >= 2) r.Int32();
  const int32_t topics = r.ArrayCount(kMinString + 2);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    r.String();
    if (v >= 7) r.Bytes(16);
    first.See(r.Int16());
    if (v >= 1) r.NullableString();
    if (v >= 5) {
      r.Int32();
      r.Int16();
      const int32_t configs = r.NullableArrayCount(kMinString + 4);
      for (int32_t j = 0; j < configs && r.ok(); ++j) {
        r.String();
        r.NullableString();
        r.Bool();
        r.Int8();
        r.Bool();
        r.TaggedFields();
      }
    }
    r.TaggedFields();
  }
  if (!r.ok()) return std::nullopt;
  return first.code;
}

std::optional<int16_t> DeleteTopics(Reader& r, int16_t v) {
  if (v > 6) return std::nullopt;
  FirstCode first;
  if (v >= 1) r.Int32();
  const int32_t topics = r.ArrayCount(kMinString + 2);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    r.NullableString();
    if (v >= 6) r.Bytes(16);
    first.See(r.Int16());
    if (v >= 5) r.NullableString();
    r.TaggedFields();
  }
  if (!r.ok()) return std::nullopt;
  return first.code;
}

// DeleteRecords: per partition (index, low watermark, error).
std::optional<int16_t> DeleteRecords(Reader& r, int16_t v) {
  if (v > 2) return std::nullopt;
  FirstCode first;
  r.Int32();
  const int32_t topics = r.ArrayCount(kMinString + 4);
  for (int32_t i = 0; i < topics && r.ok(); ++i) {
    r.String();
    const int32_t parts = r.ArrayCount(14);
    for (int32_t j = 0; j < parts && r.ok(); ++j) {
      r.Int32();
      r.Int64();
      first.See(r.Int16());
      r.TaggedFields();
    }
    r.TaggedFields();
  }
  if (!r.ok()) return std::nullopt;
  return first.code;
}

// The config APIs and CreatePartitions: throttle time, then results that start with an error
// code (CreatePartitions: after the topic name). The first result's code stands for the
// response: walking every result's configs is not worth a metric label.
std::optional<int16_t> FirstResultCode(Reader& r, bool name_first) {
  r.Int32();
  const int32_t n = r.ArrayCount(2);
  if (n == 0) return r.ok() ? std::optional<int16_t>(0) : std::nullopt;
  if (name_first) r.String();
  const int16_t code = r.Int16();
  if (!r.ok()) return std::nullopt;
  return code;
}

// Transaction APIs and DescribeProducers: throttle time, topics, partitions (index, code);
// the first partition's code stands for the response.
std::optional<int16_t> FirstPartitionCode(Reader& r) {
  r.Int32();
  if (r.ArrayCount(kMinString + 4) == 0) return r.ok() ? std::optional<int16_t>(0) : std::nullopt;
  r.String();
  if (r.ArrayCount(6) == 0) return r.ok() ? std::optional<int16_t>(0) : std::nullopt;
  r.Int32();
  const int16_t code = r.Int16();
  if (!r.ok()) return std::nullopt;
  return code;
}

}  // namespace

std::optional<int16_t> ResponseErrorCode(int16_t api_key, int16_t v, bool flexible,
                                         std::string_view frame) {
  Reader r(frame);
  r.Int32();  // size
  r.Int32();  // correlation id
  if (flexible && api_key != kApiVersions) {
    r.set_flexible(true);
    r.TaggedFields();
  }
  if (!r.ok()) return std::nullopt;
  // ApiVersions' body follows its version's flexibility even though its header is v0.
  r.set_flexible(flexible);
  switch (api_key) {
    case kProduce:
      return Produce(r, v);
    case kFetch:
      return Fetch(r, v);
    case kListOffsets:
      return ListOffsets(r, v);
    case kMetadata:
      return Metadata(r, v);
    case kOffsetCommit:
      return OffsetCommit(r, v);
    case kOffsetFetch:
      return OffsetFetch(r, v);
    case kFindCoordinator:
      return FindCoordinator(r, v);
    case kJoinGroup:
      return ThrottleThenCode(r, v >= 2);
    case kLeaveGroup:
      return LeaveGroup(r, v);
    case kHeartbeat:
    case kSyncGroup:
    case kListGroups:
      return ThrottleThenCode(r, v >= 1);
    case kDescribeGroups:
      return DescribeGroups(r, v);
    case kSaslHandshake:
    case kSaslAuthenticate:
    case kApiVersions:
      return ThrottleThenCode(r, false);
    case kCreateTopics:
      return CreateTopics(r, v);
    case kDeleteTopics:
      return DeleteTopics(r, v);
    case kDeleteGroups:
      return DeleteGroups(r, v);
    case kOffsetDelete:
      return OffsetDelete(r, v);
    case kDeleteRecords:
      return DeleteRecords(r, v);
    case kDescribeConfigs:
    case kAlterConfigs:
    case kIncrementalAlterConfigs:
      return v <= 4 ? FirstResultCode(r, false) : std::nullopt;
    case kCreatePartitions:
      return v <= 3 ? FirstResultCode(r, true) : std::nullopt;
    case kCreateAcls:
    case kDeleteAcls:
      return v <= 3 ? FirstResultCode(r, false) : std::nullopt;
    case kAlterUserScramCredentials:
      return v == 0 ? FirstResultCode(r, true) : std::nullopt;
    case kDescribeAcls:
    case kDescribeUserScramCredentials:
    case kDescribeCluster:
    case kInitProducerId:
    case kAddOffsetsToTxn:
    case kEndTxn:
    case kListTransactions:
      return ThrottleThenCode(r, true);
    case kAddPartitionsToTxn:
      return v <= 3 ? FirstPartitionCode(r) : std::nullopt;
    case kTxnOffsetCommit:
    case kDescribeProducers:
      return FirstPartitionCode(r);
    case kDescribeTransactions:
      return FirstResultCode(r, false);
    default:
      return std::nullopt;
  }
}

}  // namespace ferry::kafka
