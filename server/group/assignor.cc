#include "server/group/assignor.h"

#include <algorithm>

namespace ferry::group {
namespace {

std::vector<std::string> SubscribersOf(const AssignInput& in, const std::string& topic) {
  std::vector<std::string> out;
  for (const auto& [member, topics] : in.subscriptions) {
    if (topics.contains(topic)) out.push_back(member);
  }
  return out;
}

// Every partition of every subscribed topic, in (topic, partition) order.
std::vector<TopicPartition> AllPartitions(const AssignInput& in) {
  std::set<std::string> topics;
  for (const auto& [member, subscribed] : in.subscriptions)
    topics.insert(subscribed.begin(), subscribed.end());
  std::vector<TopicPartition> out;
  for (const auto& topic : topics) {
    auto it = in.partitions.find(topic);
    if (it == in.partitions.end()) continue;
    for (int32_t p = 0; p < it->second; ++p) out.emplace_back(topic, p);
  }
  return out;
}

Assignment Range(const AssignInput& in) {
  Assignment out;
  for (const auto& [topic, count] : in.partitions) {
    std::vector<std::string> members = SubscribersOf(in, topic);
    if (members.empty() || count <= 0) continue;
    const int32_t n = static_cast<int32_t>(members.size());
    const int32_t per = count / n;
    const int32_t extra = count % n;
    int32_t p = 0;
    for (int32_t m = 0; m < n; ++m) {
      const int32_t take = per + (m < extra ? 1 : 0);
      for (int32_t i = 0; i < take; ++i) out[{topic, p++}] = members[m];
    }
  }
  return out;
}

Assignment RoundRobin(const AssignInput& in) {
  Assignment out;
  std::vector<std::string> members;
  for (const auto& [member, topics] : in.subscriptions) members.push_back(member);
  if (members.empty()) return out;
  size_t next = 0;
  for (const auto& tp : AllPartitions(in)) {
    // The next member in turn that subscribes to this topic.
    for (size_t tried = 0; tried < members.size(); ++tried) {
      const std::string& m = members[(next + tried) % members.size()];
      if (in.subscriptions.at(m).contains(tp.first)) {
        out[tp] = m;
        next = (next + tried + 1) % members.size();
        break;
      }
    }
  }
  return out;
}

Assignment Sticky(const AssignInput& in) {
  Assignment out;
  std::map<std::string, int> load;
  for (const auto& [member, topics] : in.subscriptions) load[member] = 0;
  const std::vector<TopicPartition> all = AllPartitions(in);
  const auto subscribed = [&](const std::string& m, const std::string& topic) {
    auto it = in.subscriptions.find(m);
    return it != in.subscriptions.end() && it->second.contains(topic);
  };
  // Keep current owners.
  std::vector<TopicPartition> unowned;
  for (const auto& tp : all) {
    auto it = in.current.find(tp);
    if (it != in.current.end() && subscribed(it->second, tp.first)) {
      out[tp] = it->second;
      ++load[it->second];
    } else {
      unowned.push_back(tp);
    }
  }
  // Unowned partitions to the least loaded subscriber (ties: member id order).
  for (const auto& tp : unowned) {
    const std::string* best = nullptr;
    for (const auto& [member, n] : load) {
      if (subscribed(member, tp.first) && (best == nullptr || n < load[*best])) best = &member;
    }
    if (best == nullptr) continue;
    out[tp] = *best;
    ++load[*best];
  }
  // Balance: move one partition at a time from the most loaded member to a least loaded one
  // that subscribes to its topic, while that narrows the spread.
  while (true) {
    bool moved = false;
    std::vector<std::pair<int, std::string>> by_load;
    for (const auto& [member, n] : load) by_load.emplace_back(n, member);
    std::sort(by_load.begin(), by_load.end());
    for (auto hi = by_load.rbegin(); hi != by_load.rend() && !moved; ++hi) {
      for (auto lo = by_load.begin(); lo != by_load.end() && !moved; ++lo) {
        if (hi->first - lo->first < 2) break;
        // Move the highest-numbered partition the loaded member owns that the other can take.
        for (auto it = out.rbegin(); it != out.rend(); ++it) {
          if (it->second == hi->second && subscribed(lo->second, it->first.first)) {
            it->second = lo->second;
            --load[hi->second];
            ++load[lo->second];
            moved = true;
            break;
          }
        }
      }
    }
    if (!moved) break;
  }
  return out;
}

}  // namespace

const char* AssignorName(AssignorKind kind) {
  switch (kind) {
    case AssignorKind::kRange:
      return "range";
    case AssignorKind::kRoundRobin:
      return "roundrobin";
    case AssignorKind::kSticky:
      return "sticky";
  }
  return "sticky";
}

Assignment Assign(AssignorKind kind, const AssignInput& input) {
  switch (kind) {
    case AssignorKind::kRange:
      return Range(input);
    case AssignorKind::kRoundRobin:
      return RoundRobin(input);
    case AssignorKind::kSticky:
      return Sticky(input);
  }
  return Sticky(input);
}

}  // namespace ferry::group
