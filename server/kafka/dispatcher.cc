// The request path: the header parsed once, the API looked up in the table, its version
// checked against the table's row, then its handler; no per-API code here.
#include "server/kafka/dispatcher.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/kafka/protocol.h"
#include "server/kafka/response_codes.h"
#include "server/kafka/wire.h"
#include "server/log.h"

namespace ferry::kafka {

Dispatcher::Dispatcher(broker::Broker* broker, group::ConsumerGroups* groups)
    : broker_(broker), groups_(groups) {}

void Dispatcher::SetAdvertisedAddresses(std::vector<ServingState::Address> addresses) {
  serving_.SetAdvertisedAddresses(std::move(addresses));
}

void Dispatcher::BeginShutdown() {
  serving_.BeginShutdown();
  groups_->CancelWaits();
}

Result Dispatcher::Handle(std::string_view frame, std::string_view peer_host, int listener,
                          std::function<bool()> peer_gone, absl::Time received, Session* session) {
  if (observer_ == nullptr) return Serve(frame, peer_host, listener, std::move(peer_gone), session);
  if (received == absl::InfinitePast()) received = absl::Now();
  Result result = Serve(frame, peer_host, listener, std::move(peer_gone), session);
  if (result.kind == Result::Kind::kLater) {
    // Observed when it completes, with its whole latency; the frame is gone by then, and
    // Observe needs only its API key and version (its first 4 bytes).
    auto observed = std::make_shared<LaterResult>();
    // The observer, not the dispatcher: the engine may answer after the listener is gone.
    result.later->Then([observer = observer_, observed, head = std::string(frame.substr(0, 4)),
                        received](Result done) {
      Observe(observer, head, done, received);
      observed->Complete(std::move(done));
    });
    return Result::Later(std::move(observed));
  }
  Observe(observer_, frame, result, received);
  return result;
}

void Dispatcher::Observe(KafkaObserver* observer, std::string_view frame, const Result& result,
                         absl::Time received) {
  // The labels stay bounded: an API not served is "Unknown", a version outside the served
  // range "unsupported", whatever the client sent.
  Reader r(frame);
  const int16_t key = r.Int16();
  const int16_t version = r.Int16();
  const ApiEntry* api = r.ok() ? FindApi(key) : nullptr;
  const bool in_range =
      api != nullptr && version >= api->min_version && version <= api->max_version;
  std::string code;
  switch (result.kind) {
    case Result::Kind::kClose:
      code = "closed";
      break;
    case Result::Kind::kNoReply:
    case Result::Kind::kLater:  // not observed before it completes
      code = "none";
      break;
    case Result::Kind::kReply:
      if (!in_range) {
        code = std::to_string(error::kUnsupportedVersion);
      } else {
        const auto found =
            ResponseErrorCode(key, version, IsFlexibleVersion(key, version), result.frame);
        code = found.has_value() ? std::to_string(*found) : "unknown";
      }
      break;
  }
  observer->OnRequest(api != nullptr ? ApiName(key) : "Unknown",
                      in_range ? std::to_string(version) : "unsupported", code,
                      absl::Now() - received);
}

Result Dispatcher::Serve(std::string_view frame, std::string_view peer_host, int listener,
                         std::function<bool()> peer_gone, Session* session) {
  if (session != nullptr && session->raw_sasl_tokens) {
    ApiContext ctx{broker_,   groups_, &serving_, peer_host, listener, std::move(peer_gone),
                   observer_, session, security_, &sasl_};
    return HandleSaslToken(ctx, frame);
  }
  std::string_view body;
  auto header = ParseRequestHeader(frame, &body, HasRequestHeaderV2);
  if (!header.ok()) return Result::Close(header.status());
  const ApiEntry* api = FindApi(header->api_key);
  if (api == nullptr) {
    return Result::Close(absl::StrCat("API key ", header->api_key, " (", ApiName(header->api_key),
                                      ") is not served"));
  }
  if (header->api_version < api->min_version || header->api_version > api->max_version) {
    log::Event(log::Level::kDebug, "kafka_unsupported_version",
               {{"api", ApiName(header->api_key)},
                {"version", std::to_string(header->api_version)},
                {"client_id", header->client_id.value_or("")}});
    // In the format of the highest version served, which the client can read (ApiVersions
    // answers in v0 whatever it is given).
    RequestHeader reply = *header;
    reply.api_version = api->max_version;
    reply.flexible = IsFlexibleVersion(reply.api_key, reply.api_version);
    return Result::Reply(api->error_response(reply, error::kUnsupportedVersion));
  }
  if (session != nullptr && session->sasl_required && !session->authenticated &&
      !AllowedBeforeAuthentication(header->api_key)) {
    return Result::Close(absl::StrCat(ApiName(header->api_key),
                                      " before SASL authentication on listener ",
                                      session->listener_name));
  }
  ApiContext ctx{broker_,   groups_, &serving_, peer_host, listener, std::move(peer_gone),
                 observer_, session, security_, &sasl_};
  Reader reader(body, header->flexible);
  return api->handle(ctx, *header, reader);
}

}  // namespace ferry::kafka
