// InitProducerId: idempotent producers get their id and epoch from the engine. A transactional
// id is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED: librdkafka and the Java client take
// it as fatal and report it at once (init_transactions fails with "Transactional Id
// authorization failed"), where COORDINATOR_NOT_AVAILABLE would have them retry until their
// timeout with no reason given.
#include "server/kafka/producer_id.h"

#include <optional>

#include "absl/status/status.h"
#include "server/broker/broker.h"
#include "server/log.h"
#include "server/security/security.h"

namespace ferry::kafka {

Result HandleInitProducerId(ApiContext& ctx, const RequestHeader& h, Reader& body) {
  InitProducerIdRequest r = DecodeInitProducerIdRequest(h.api_version, body);
  if (absl::Status s = CheckRequestBody(h, body); !s.ok()) return Result::Close(s);
  InitProducerIdResponse resp;
  if (r.transactional_id.has_value()) {
    log::Event(
        log::Level::kInfo, "kafka_transactions_refused",
        {{"transactional_id", *r.transactional_id}, {"client_id", h.client_id.value_or("")}});
    resp.error_code = error::kTransactionalIdAuthorizationFailed;
    return Result::Reply(EncodeResponse(h, resp));
  }
  // Kafka's rule (KIP-679): IdempotentWrite on the cluster, or Write on some topic.
  if (ctx.security != nullptr && ctx.security->authorizer_enabled() &&
      !Authorized(ctx, kInitProducerId, security::Operation::kIdempotentWrite,
                  security::ResourceType::kCluster, security::kClusterName)) {
    bool writes_somewhere = false;
    for (const auto& t : ctx.broker->ListTopics()) {
      if (ctx.security->Authorize(
              ctx.session != nullptr ? ctx.session->principal : security::Principal(),
              ctx.peer_host, security::Operation::kWrite, security::ResourceType::kTopic,
              t->meta.name)) {
        writes_somewhere = true;
        break;
      }
    }
    if (!writes_somewhere) {
      resp.error_code = error::kClusterAuthorizationFailed;
      return Result::Reply(EncodeResponse(h, resp));
    }
  }
  std::optional<broker::ProducerIdentity> current;
  if (r.producer_id != -1 || r.producer_epoch != -1) {
    current = broker::ProducerIdentity{r.producer_id, r.producer_epoch};
  }
  absl::StatusOr<broker::ProducerIdentity> id = ctx.broker->InitProducer(current);
  if (id.ok()) {
    resp.producer_id = id->id;
    resp.producer_epoch = id->epoch;
  } else if (absl::IsAborted(id.status())) {
    // Kafka answers clients before v4, which do not know PRODUCER_FENCED, with the old code.
    resp.error_code = h.api_version >= 4 ? error::kProducerFenced : error::kInvalidProducerEpoch;
  } else if (absl::IsInvalidArgument(id.status())) {
    resp.error_code = error::kInvalidRequest;
  } else {
    resp.error_code = error::kCoordinatorNotAvailable;  // retriable: storage trouble
  }
  return Result::Reply(EncodeResponse(h, resp));
}

std::string InitProducerIdErrorResponse(const RequestHeader& h, int16_t error_code) {
  InitProducerIdResponse resp;
  resp.error_code = error_code;
  return EncodeResponse(h, resp);
}

}  // namespace ferry::kafka
