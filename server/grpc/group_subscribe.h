// Subscribe in group mode: one stream delivers the records of every partition the coordinator
// assigns to the member, and the assignment changes themselves. Each partition is checked (Read
// on its topic) as the stream starts reading it: a partition the caller may not read ends the
// stream with PERMISSION_DENIED.
#ifndef FERRY_SERVER_GRPC_GROUP_SUBSCRIBE_H_
#define FERRY_SERVER_GRPC_GROUP_SUBSCRIBE_H_

#include <grpcpp/grpcpp.h>

#include "ferry/v1/ferry.pb.h"
#include "server/broker/broker.h"
#include "server/group/consumer_groups.h"
#include "server/grpc/auth.h"

namespace ferry::grpc_server {

grpc::ServerWriteReactor<grpc::ByteBuffer>* NewGroupSubscribeReactor(
    broker::Broker* broker, group::ConsumerGroups* groups, const v1::SubscribeRequest& request,
    Caller caller);

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_GROUP_SUBSCRIBE_H_
