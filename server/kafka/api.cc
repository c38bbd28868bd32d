// The API table and the state handlers share. The table is the only place an API's served
// versions are written: ApiVersions lists its advertised rows, the dispatcher checks every
// request's version against its row.
#include "server/kafka/api.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/kafka/admin.h"
#include "server/kafka/api_versions.h"
#include "server/kafka/configs.h"
#include "server/kafka/fetch.h"
#include "server/kafka/group_admin.h"
#include "server/kafka/groups.h"
#include "server/kafka/list_offsets.h"
#include "server/kafka/metadata.h"
#include "server/kafka/observer.h"
#include "server/kafka/offsets.h"
#include "server/kafka/produce.h"
#include "server/kafka/producer_id.h"
#include "server/kafka/sasl.h"
#include "server/kafka/security_admin.h"
#include "server/kafka/topics.h"
#include "server/kafka/transactions.h"
#include "server/log.h"
#include "server/security/security.h"

namespace ferry::kafka {

Result Result::Reply(std::string frame) {
  Result r;
  r.kind = Kind::kReply;
  r.frame = std::move(frame);
  return r;
}

Result Result::NoReply() { return Result(); }

Result Result::ReplyThenClose(std::string frame, std::string why) {
  Result r = Reply(std::move(frame));
  r.close_after = true;
  r.close_reason = std::move(why);
  return r;
}

Result Result::Close(std::string why) {
  Result r;
  r.kind = Kind::kClose;
  r.close_reason = std::move(why);
  return r;
}

Result Result::Close(const absl::Status& why) { return Close(std::string(why.message())); }

Result Result::Later(std::shared_ptr<LaterResult> later) {
  Result r;
  r.kind = Kind::kLater;
  r.later = std::move(later);
  return r;
}

void LaterResult::Complete(Result result) {
  std::function<void(Result)> done;
  {
    absl::MutexLock lock(&mu_);
    if (!done_) {
      completed_ = true;
      result_ = std::move(result);
      return;
    }
    done = std::move(done_);
  }
  done(std::move(result));
}

void LaterResult::Then(std::function<void(Result)> done) {
  Result result;
  {
    absl::MutexLock lock(&mu_);
    if (!completed_) {
      done_ = std::move(done);
      return;
    }
    result = std::move(result_);
  }
  done(std::move(result));
}

void ServingState::SetAdvertisedAddresses(std::vector<Address> addresses) {
  absl::MutexLock lock(&mu_);
  advertised_ = std::move(addresses);
}

ServingState::Address ServingState::advertised(int listener) const {
  absl::MutexLock lock(&mu_);
  if (advertised_.empty()) return Address{};
  if (listener < 0 || listener >= static_cast<int>(advertised_.size())) return advertised_[0];
  return advertised_[listener];
}

bool ServingState::AddWait(std::shared_ptr<Wakeup> wait) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  waits_.insert(std::move(wait));
  return true;
}

void ServingState::RemoveWait(const std::shared_ptr<Wakeup>& wait) {
  absl::MutexLock lock(&mu_);
  waits_.erase(wait);
}

void ServingState::BeginShutdown() {
  std::set<std::shared_ptr<Wakeup>> waits;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    waits = waits_;
  }
  for (const auto& w : waits) w->Wake();
}

namespace {
const security::Principal& PrincipalOf(const ApiContext& ctx) {
  static const security::Principal* anonymous = new security::Principal();
  return ctx.session != nullptr ? ctx.session->principal : *anonymous;
}
}  // namespace

bool Authorized(const ApiContext& ctx, int16_t api_key, security::Operation op,
                security::ResourceType type, std::string_view name) {
  if (ctx.security == nullptr || !ctx.security->authorizer_enabled()) return true;
  if (ctx.security->Authorize(PrincipalOf(ctx), ctx.peer_host, op, type, name)) return true;
  log::Event(
      log::Level::kDebug, "kafka_authorization_denied",
      {{"principal", PrincipalOf(ctx).ToString()},
       {"host", std::string(ctx.peer_host)},
       {"api", ApiName(api_key)},
       {"operation", std::string(security::Name(op))},
       {"resource", absl::StrCat(std::string(security::Name(type)), ":", std::string(name))}});
  if (ctx.observer != nullptr) {
    ctx.observer->OnAuthorizationDenied(
        ctx.session != nullptr ? std::string_view(ctx.session->listener_name) : std::string_view(),
        security::Name(op));
  }
  return false;
}

std::string DeniedMessage(const ApiContext& ctx, security::Operation op,
                          security::ResourceType type, std::string_view name) {
  return absl::StrCat(PrincipalOf(ctx).ToString(), " may not ", std::string(security::Name(op)),
                      " ", std::string(security::Name(type)), " '", std::string(name), "'");
}

const std::vector<ApiEntry>& Apis() {
  // Every range starts at v0: librdkafka turns group consumption off when a group API's does
  // not. kafka-python 2.0.2 infers the broker's version from the versions advertised, newest
  // check first (DescribeAcls v2: 2.5, Produce v8: 2.4, Fetch v11: 2.3, ListOffsets v5: 2.2,
  // Fetch v10: 2.1, ... Metadata v5: 1.0, Metadata v4: 0.11): Produce up to v9 makes it take
  // Ferry for 2.4, so it produces with Produce v7 (record batch v2), fetches with Fetch v4 and
  // lists offsets with ListOffsets v1, all served here.
  static const std::vector<ApiEntry> apis = {
      {kProduce, 0, 9, 9, HandleProduce, ProduceErrorResponse},
      {kFetch, 0, 12, 12, HandleFetch, FetchErrorResponse},
      {kListOffsets, 0, 7, 6, HandleListOffsets, ListOffsetsErrorResponse},
      {kMetadata, 0, 12, 9, HandleMetadata, MetadataErrorResponse},
      {kOffsetCommit, 0, 8, 8, HandleOffsetCommit, OffsetCommitErrorResponse},
      {kOffsetFetch, 0, 8, 6, HandleOffsetFetch, OffsetFetchErrorResponse},
      {kFindCoordinator, 0, 4, 3, HandleFindCoordinator, FindCoordinatorErrorResponse},
      {kJoinGroup, 0, 7, 6, HandleJoinGroup, JoinGroupErrorResponse},
      {kHeartbeat, 0, 4, 4, HandleHeartbeat, HeartbeatErrorResponse},
      {kLeaveGroup, 0, 4, 4, HandleLeaveGroup, LeaveGroupErrorResponse},
      {kSyncGroup, 0, 5, 4, HandleSyncGroup, SyncGroupErrorResponse},
      {kDescribeGroups, 0, 5, 5, HandleDescribeGroups, DescribeGroupsErrorResponse},
      {kListGroups, 0, 4, 3, HandleListGroups, ListGroupsErrorResponse},
      // SASL (sasl.h): on SASL_PLAINTEXT and SASL_SSL listeners; elsewhere ILLEGAL_SASL_STATE.
      {kSaslHandshake, 0, 1, kNeverFlexible, HandleSaslHandshake, SaslHandshakeErrorResponse},
      {kApiVersions, 0, 3, 3, HandleApiVersions, ApiVersionsErrorResponse},
      {kCreateTopics, 0, 7, 5, HandleCreateTopics, CreateTopicsErrorResponse},
      {kDeleteTopics, 0, 6, 4, HandleDeleteTopics, DeleteTopicsErrorResponse},
      {kDeleteRecords, 0, 2, 2, HandleDeleteRecords, DeleteRecordsErrorResponse},
      // Idempotent producers (librdkafka, Java 3.0+ and franz-go enable them by default).
      {kInitProducerId, 0, 4, 2, HandleInitProducerId, InitProducerIdErrorResponse},
      // Transactions are not supported: served so a client that sends them gets an error code
      // (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), not advertised so none is led to try them.
      {kAddPartitionsToTxn, 0, 3, 3, HandleAddPartitionsToTxn, AddPartitionsToTxnErrorResponse,
       /*advertised=*/false},
      {kAddOffsetsToTxn, 0, 3, 3, HandleAddOffsetsToTxn, TxnErrorResponse, /*advertised=*/false},
      {kEndTxn, 0, 3, 3, HandleEndTxn, TxnErrorResponse, /*advertised=*/false},
      {kTxnOffsetCommit, 0, 3, 3, HandleTxnOffsetCommit, TxnOffsetCommitErrorResponse,
       /*advertised=*/false},
      {kDescribeAcls, 0, 3, 2, HandleDescribeAcls, DescribeAclsErrorResponse},
      {kCreateAcls, 0, 3, 2, HandleCreateAcls, CreateAclsErrorResponse},
      {kDeleteAcls, 0, 3, 2, HandleDeleteAcls, DeleteAclsErrorResponse},
      {kDescribeConfigs, 0, 4, 4, HandleDescribeConfigs, DescribeConfigsErrorResponse},
      {kAlterConfigs, 0, 2, 2, HandleAlterConfigs, AlterConfigsErrorResponse},
      {kSaslAuthenticate, 0, 2, 2, HandleSaslAuthenticate, SaslAuthenticateErrorResponse},
      {kCreatePartitions, 0, 3, 2, HandleCreatePartitions, CreatePartitionsErrorResponse},
      {kDeleteGroups, 0, 2, 2, HandleDeleteGroups, DeleteGroupsErrorResponse},
      {kIncrementalAlterConfigs, 0, 1, 1, HandleIncrementalAlterConfigs, AlterConfigsErrorResponse},
      {kOffsetDelete, 0, 0, kNeverFlexible, HandleOffsetDelete, OffsetDeleteErrorResponse},
      {kDescribeUserScramCredentials, 0, 0, 0, HandleDescribeUserScramCredentials,
       DescribeUserScramCredentialsErrorResponse},
      {kAlterUserScramCredentials, 0, 0, 0, HandleAlterUserScramCredentials,
       AlterUserScramCredentialsErrorResponse},
      {kDescribeCluster, 0, 1, 0, HandleDescribeCluster, DescribeClusterErrorResponse},
      {kDescribeProducers, 0, 0, 0, HandleDescribeProducers, DescribeProducersErrorResponse},
      {kDescribeTransactions, 0, 0, 0, HandleDescribeTransactions,
       DescribeTransactionsErrorResponse, /*advertised=*/false},
      {kListTransactions, 0, 1, 0, HandleListTransactions, ListTransactionsErrorResponse,
       /*advertised=*/false},
  };
  return apis;
}

bool IsFlexibleVersion(int16_t api_key, int16_t api_version) {
  const ApiEntry* api = FindApi(api_key);
  return api != nullptr && api_version >= api->flexible_from;
}

bool HasRequestHeaderV2(int16_t api_key, int16_t api_version) {
  // An ApiVersions past the served range is read with header v1, as Kafka does: the client
  // cannot know which header the broker expects, its body is not read, and the client id
  // comes before the tagged fields either way.
  if (api_key == kApiVersions) {
    const ApiEntry* api = FindApi(api_key);
    if (api != nullptr && api_version > api->max_version) return false;
  }
  return IsFlexibleVersion(api_key, api_version);
}

const ApiEntry* FindApi(int16_t api_key) {
  for (const auto& api : Apis()) {
    if (api.key == api_key) return &api;
  }
  return nullptr;
}

const std::vector<ApiVersionRange>& SupportedApis() {
  static const std::vector<ApiVersionRange> ranges = [] {
    std::vector<ApiVersionRange> out;
    for (const auto& api : Apis()) {
      if (api.advertised) out.push_back({api.key, api.min_version, api.max_version});
    }
    return out;
  }();
  return ranges;
}

}  // namespace ferry::kafka
