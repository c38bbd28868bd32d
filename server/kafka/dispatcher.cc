// The request path: the header parsed once, the API looked up in the table, its version
// checked against the table's row, then its handler; no per-API code here.
#include "server/kafka/dispatcher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"
#include "server/log.h"

namespace ferry::kafka {

Dispatcher::Dispatcher(broker::Broker* broker, group::ConsumerGroups* groups)
    : broker_(broker), groups_(groups) {}

void Dispatcher::SetAdvertisedAddress(std::string host, int32_t port) {
  serving_.SetAdvertisedAddress(std::move(host), port);
}

void Dispatcher::BeginShutdown() {
  serving_.BeginShutdown();
  groups_->CancelWaits();
}

Result Dispatcher::Handle(std::string_view frame, std::string_view peer_host,
                          std::function<bool()> peer_gone) {
  std::string_view body;
  auto header = ParseRequestHeader(frame, &body, IsFlexibleVersion);
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
  ApiContext ctx{broker_, groups_, &serving_, peer_host, std::move(peer_gone)};
  Reader reader(body, header->flexible);
  return api->handle(ctx, *header, reader);
}

}  // namespace ferry::kafka
