// The Kafka APIs that manage security, over the engine's one user store and ACLs
// (security::Security), so kafka-acls, kafka-configs --alter --add-config SCRAM-SHA-512=...,
// and admin clients work unchanged: DescribeAcls (29), CreateAcls (30), DeleteAcls (31), v0-3
// (flexible from v2), DescribeUserScramCredentials (50) and AlterUserScramCredentials (51), v0
// (flexible). Reading ACLs or users needs Describe on the cluster, changing them Alter (Kafka's
// rules); without an authorizer the ACL APIs answer SECURITY_DISABLED, as Kafka does. The
// wire formats (security_admin_codec.cc) are pure. Thread-safe.
#ifndef FERRY_SERVER_KAFKA_SECURITY_ADMIN_H_
#define FERRY_SERVER_KAFKA_SECURITY_ADMIN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/kafka/api.h"
#include "server/kafka/protocol.h"
#include "server/kafka/wire.h"

namespace ferry::kafka {

// One ACL binding or filter as the ACL APIs carry it (codes are Kafka's, as security::'s).
struct WireAcl {
  int8_t resource_type = 0;
  std::optional<std::string> resource_name;  // null: any (filters only)
  int8_t pattern_type = 3;                   // v1+; LITERAL before
  std::optional<std::string> principal;      // null: any (filters only)
  std::optional<std::string> host;           // null: any (filters only)
  int8_t operation = 0;
  int8_t permission = 0;
};

struct DescribeAclsRequest {
  WireAcl filter;
};
struct DescribeAclsResponse {
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::vector<WireAcl> acls;  // grouped by resource when encoded
};

struct CreateAclsRequest {
  std::vector<WireAcl> creations;
};
struct CreateAclsResponse {
  struct Result {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
  };
  std::vector<Result> results;
};

struct DeleteAclsRequest {
  std::vector<WireAcl> filters;
};
struct DeleteAclsResponse {
  struct FilterResult {
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::vector<WireAcl> matching;
  };
  std::vector<FilterResult> results;
};

struct DescribeUserScramCredentialsRequest {
  std::optional<std::vector<std::string>> users;  // null or empty: every user
};
struct DescribeUserScramCredentialsResponse {
  struct Result {
    std::string user;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
    std::vector<std::pair<int8_t, int32_t>> credentials;  // mechanism, iterations
  };
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  std::vector<Result> results;
};

struct AlterUserScramCredentialsRequest {
  struct Deletion {
    std::string name;
    int8_t mechanism = 0;
  };
  struct Upsertion {
    std::string name;
    int8_t mechanism = 0;
    int32_t iterations = 0;
    std::string salt;
    std::string salted_password;
  };
  std::vector<Deletion> deletions;
  std::vector<Upsertion> upsertions;
};
struct AlterUserScramCredentialsResponse {
  struct Result {
    std::string user;
    int16_t error_code = 0;
    std::optional<std::string> error_message;
  };
  std::vector<Result> results;
};

DescribeAclsRequest DecodeDescribeAclsRequest(int16_t version, Reader& body);
CreateAclsRequest DecodeCreateAclsRequest(int16_t version, Reader& body);
DeleteAclsRequest DecodeDeleteAclsRequest(int16_t version, Reader& body);
DescribeUserScramCredentialsRequest DecodeDescribeUserScramCredentialsRequest(int16_t version,
                                                                              Reader& body);
AlterUserScramCredentialsRequest DecodeAlterUserScramCredentialsRequest(int16_t version,
                                                                        Reader& body);
std::string EncodeResponse(const RequestHeader& h, const DescribeAclsResponse& r);
std::string EncodeResponse(const RequestHeader& h, const CreateAclsResponse& r);
std::string EncodeResponse(const RequestHeader& h, const DeleteAclsResponse& r);
std::string EncodeResponse(const RequestHeader& h, const DescribeUserScramCredentialsResponse& r);
std::string EncodeResponse(const RequestHeader& h, const AlterUserScramCredentialsResponse& r);

Result HandleDescribeAcls(ApiContext& ctx, const RequestHeader& h, Reader& body);
Result HandleCreateAcls(ApiContext& ctx, const RequestHeader& h, Reader& body);
Result HandleDeleteAcls(ApiContext& ctx, const RequestHeader& h, Reader& body);
Result HandleDescribeUserScramCredentials(ApiContext& ctx, const RequestHeader& h, Reader& body);
Result HandleAlterUserScramCredentials(ApiContext& ctx, const RequestHeader& h, Reader& body);
std::string DescribeAclsErrorResponse(const RequestHeader& h, int16_t error_code);
std::string CreateAclsErrorResponse(const RequestHeader& h, int16_t error_code);
std::string DeleteAclsErrorResponse(const RequestHeader& h, int16_t error_code);
std::string DescribeUserScramCredentialsErrorResponse(const RequestHeader& h, int16_t error_code);
std::string AlterUserScramCredentialsErrorResponse(const RequestHeader& h, int16_t error_code);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_SECURITY_ADMIN_H_
