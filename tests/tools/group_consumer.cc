// ferry_test_consumer: a group member used by the integration tests as a separate process, so
// that a test can kill -9 it. Joins a group, streams its partitions, appends every record it
// receives to --out as "partition offset key value" lines (written before the offset is
// committed, so the file shows every delivery), commits after each message, and on SIGTERM
// leaves the group and exits 0.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tools/tool_flags.h"

namespace {

std::atomic<bool> g_stop{false};
std::mutex g_context_mu;
grpc::ClientContext* g_context = nullptr;

using ferry::tools::Flag;

void Deadline(grpc::ClientContext* c) {
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string broker_addr = Flag(argc, argv, "broker", "127.0.0.1:50051");
  const std::string group = Flag(argc, argv, "group", "");
  const std::string topic = Flag(argc, argv, "topic", "");
  const std::string out_path = Flag(argc, argv, "out", "");
  const std::string instance = Flag(argc, argv, "instance-id", "");
  int session_ms = 2000;
  (void)absl::SimpleAtoi(Flag(argc, argv, "session-timeout-ms", "2000"), &session_ms);
  if (group.empty() || topic.empty() || out_path.empty()) {
    std::fprintf(stderr, "usage: ferry_test_consumer --broker=A --group=G --topic=T --out=F\n");
    return 2;
  }
  FILE* out = std::fopen(out_path.c_str(), "a");
  if (out == nullptr) {
    std::perror("open --out");
    return 2;
  }

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::thread([sigs] {
    int sig;
    sigwait(&sigs, &sig);
    g_stop = true;
    std::lock_guard<std::mutex> lock(g_context_mu);
    if (g_context != nullptr) g_context->TryCancel();
  }).detach();

  auto channel = grpc::CreateChannel(broker_addr, grpc::InsecureChannelCredentials());
  auto stub = ferry::v1::Broker::NewStub(channel);
  std::string member_id;
  while (!g_stop) {
    ferry::v1::JoinGroupRequest join;
    join.set_group(group);
    join.add_topics(topic);
    join.set_session_timeout_ms(session_ms);
    join.set_instance_id(instance);
    ferry::v1::JoinGroupResponse joined;
    grpc::ClientContext jc;
    Deadline(&jc);
    grpc::Status s = stub->JoinGroup(&jc, join, &joined);
    if (!s.ok()) {
      std::fprintf(stderr, "join: %s\n", s.error_message().c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // retry pacing, not sync
      continue;
    }
    member_id = joined.member_id();
    int64_t generation = joined.generation();
    std::map<int32_t, int64_t> positions;  // owned partition -> next offset to commit

    const auto commit = [&](const std::map<int32_t, int64_t>& which) {
      if (which.empty()) return;
      ferry::v1::CommitOffsetRequest req;
      req.set_group(group);
      req.set_member_id(member_id);
      req.set_generation(generation);
      for (const auto& [p, offset] : which) {
        auto* o = req.add_offsets();
        o->set_topic(topic);
        o->set_partition(p);
        o->set_offset(offset);
      }
      ferry::v1::CommitOffsetResponse resp;
      grpc::ClientContext cc;
      Deadline(&cc);
      grpc::Status cs = stub->CommitOffset(&cc, req, &resp);
      // A stale generation is expected during a rebalance: the stream brings the new one and
      // the positions are committed again then.
      if (!cs.ok()) std::fprintf(stderr, "commit: %s\n", cs.error_message().c_str());
    };

    ferry::v1::SubscribeRequest sub;
    sub.mutable_group()->set_group(group);
    sub.mutable_group()->set_member_id(member_id);
    sub.mutable_group()->set_offset_reset(ferry::v1::OFFSET_RESET_EARLIEST);
    sub.set_max_records_per_message(100);
    grpc::ClientContext sc;
    {
      std::lock_guard<std::mutex> lock(g_context_mu);
      g_context = &sc;
    }
    if (g_stop) sc.TryCancel();
    auto reader = stub->Subscribe(&sc, sub);
    ferry::v1::SubscribeResponse msg;
    while (reader->Read(&msg)) {
      if (msg.has_assignment()) {
        const auto& a = msg.assignment();
        generation = a.generation();
        std::map<int32_t, int64_t> revoked;
        for (const auto& tp : a.revoked()) {
          auto it = positions.find(tp.partition());
          if (it != positions.end()) {
            revoked.insert(*it);
            positions.erase(it);
          }
        }
        commit(revoked);  // the final commit of partitions that move away
        commit(positions);
        // Acknowledge the new generation, so revoked partitions move on without waiting.
        ferry::v1::HeartbeatRequest hb;
        hb.set_group(group);
        hb.set_member_id(member_id);
        hb.set_generation(generation);
        ferry::v1::HeartbeatResponse hr;
        grpc::ClientContext hc;
        Deadline(&hc);
        (void)stub->Heartbeat(&hc, hb, &hr);
        continue;
      }
      std::string lines;
      for (const auto& r : msg.records()) {
        absl::StrAppend(&lines, msg.partition(), " ", r.offset(), " ", r.key(), " ", r.value(),
                        "\n");
      }
      std::fwrite(lines.data(), 1, lines.size(), out);
      std::fflush(out);
      if (msg.records_size() > 0) {
        positions[msg.partition()] = msg.records(msg.records_size() - 1).offset() + 1;
        commit({{msg.partition(), positions[msg.partition()]}});
      }
    }
    grpc::Status end = reader->Finish();
    {
      std::lock_guard<std::mutex> lock(g_context_mu);
      g_context = nullptr;
    }
    if (g_stop) break;
    std::fprintf(stderr, "stream ended: %s; rejoining\n", end.error_message().c_str());
  }
  if (!member_id.empty()) {
    ferry::v1::LeaveGroupRequest leave;
    leave.set_group(group);
    leave.set_member_id(member_id);
    ferry::v1::LeaveGroupResponse left;
    grpc::ClientContext lc;
    Deadline(&lc);
    (void)stub->LeaveGroup(&lc, leave, &left);
  }
  std::fclose(out);
  return 0;
}
