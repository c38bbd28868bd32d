// Partition assignors: who in a group consumes which partition. Pure functions of the members'
// subscriptions, the topics' partition counts and (for sticky) the current owners.
#ifndef FERRY_SERVER_GROUP_ASSIGNOR_H_
#define FERRY_SERVER_GROUP_ASSIGNOR_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ferry::group {

using TopicPartition = std::pair<std::string, int32_t>;
// Partition -> member id.
using Assignment = std::map<TopicPartition, std::string>;

enum class AssignorKind { kRange, kRoundRobin, kSticky };
const char* AssignorName(AssignorKind kind);

struct AssignInput {
  // Member id -> subscribed topics. Member ids order the members.
  std::map<std::string, std::set<std::string>> subscriptions;
  // Topic -> partition count; topics missing here (or with 0) get no assignment.
  std::map<std::string, int32_t> partitions;
  // Current owners (sticky keeps them where it can).
  Assignment current;
};

// Range: per topic, members in id order take contiguous ranges; the first `count % members`
// take one more. Round robin: every partition in (topic, partition) order dealt to the
// subscribed members in turn. Sticky: keep every current owner that is still subscribed, give
// unowned partitions to the least loaded, then move partitions one at a time from the most to
// the least loaded member until the counts differ by at most one: the fewest moves that balance.
Assignment Assign(AssignorKind kind, const AssignInput& input);

}  // namespace ferry::group

#endif  // FERRY_SERVER_GROUP_ASSIGNOR_H_
