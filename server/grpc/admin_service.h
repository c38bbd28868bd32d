// The ferry.v1.Admin gRPC service: topics over broker::Broker, groups over ConsumerGroups, users
// and ACLs over security::Security. Each method checks the caller's ACLs first (auth.h).
#ifndef FERRY_SERVER_GRPC_ADMIN_SERVICE_H_
#define FERRY_SERVER_GRPC_ADMIN_SERVICE_H_

#include "ferry/v1/ferry.grpc.pb.h"
#include "server/broker/broker.h"
#include "server/group/consumer_groups.h"
#include "server/grpc/engine.h"
#include "server/grpc/strict_unary.h"

namespace ferry::grpc_server {

class AdminService final : public StrictUnaryMethods<v1::Admin::CallbackService> {
 public:
  explicit AdminService(const Engine* engine);

  grpc::ServerUnaryReactor* CreateTopic(grpc::CallbackServerContext* context,
                                        const v1::CreateTopicRequest* request,
                                        v1::CreateTopicResponse* response) override;
  grpc::ServerUnaryReactor* DeleteTopic(grpc::CallbackServerContext* context,
                                        const v1::DeleteTopicRequest* request,
                                        v1::DeleteTopicResponse* response) override;
  grpc::ServerUnaryReactor* ListTopics(grpc::CallbackServerContext* context,
                                       const v1::ListTopicsRequest* request,
                                       v1::ListTopicsResponse* response) override;
  grpc::ServerUnaryReactor* DescribeTopic(grpc::CallbackServerContext* context,
                                          const v1::DescribeTopicRequest* request,
                                          v1::DescribeTopicResponse* response) override;
  grpc::ServerUnaryReactor* CreatePartitions(grpc::CallbackServerContext* context,
                                             const v1::CreatePartitionsRequest* request,
                                             v1::CreatePartitionsResponse* response) override;
  grpc::ServerUnaryReactor* AlterTopicConfig(grpc::CallbackServerContext* context,
                                             const v1::AlterTopicConfigRequest* request,
                                             v1::AlterTopicConfigResponse* response) override;
  grpc::ServerUnaryReactor* DeleteRecords(grpc::CallbackServerContext* context,
                                          const v1::DeleteRecordsRequest* request,
                                          v1::DeleteRecordsResponse* response) override;

  grpc::ServerUnaryReactor* ListGroups(grpc::CallbackServerContext* context,
                                       const v1::ListGroupsRequest* request,
                                       v1::ListGroupsResponse* response) override;
  grpc::ServerUnaryReactor* DescribeGroup(grpc::CallbackServerContext* context,
                                          const v1::DescribeGroupRequest* request,
                                          v1::DescribeGroupResponse* response) override;
  grpc::ServerUnaryReactor* DeleteGroup(grpc::CallbackServerContext* context,
                                        const v1::DeleteGroupRequest* request,
                                        v1::DeleteGroupResponse* response) override;
  grpc::ServerUnaryReactor* ResetOffsets(grpc::CallbackServerContext* context,
                                         const v1::ResetOffsetsRequest* request,
                                         v1::ResetOffsetsResponse* response) override;

  grpc::ServerUnaryReactor* SetPassword(grpc::CallbackServerContext* context,
                                        const v1::SetPasswordRequest* request,
                                        v1::SetPasswordResponse* response) override;
  grpc::ServerUnaryReactor* DeleteUser(grpc::CallbackServerContext* context,
                                       const v1::DeleteUserRequest* request,
                                       v1::DeleteUserResponse* response) override;
  grpc::ServerUnaryReactor* ListUsers(grpc::CallbackServerContext* context,
                                      const v1::ListUsersRequest* request,
                                      v1::ListUsersResponse* response) override;
  grpc::ServerUnaryReactor* CreateAcls(grpc::CallbackServerContext* context,
                                       const v1::CreateAclsRequest* request,
                                       v1::CreateAclsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteAcls(grpc::CallbackServerContext* context,
                                       const v1::DeleteAclsRequest* request,
                                       v1::DeleteAclsResponse* response) override;
  grpc::ServerUnaryReactor* ListAcls(grpc::CallbackServerContext* context,
                                     const v1::ListAclsRequest* request,
                                     v1::ListAclsResponse* response) override;

 private:
  const Engine* const engine_;
};

}  // namespace ferry::grpc_server

#endif  // FERRY_SERVER_GRPC_ADMIN_SERVICE_H_
