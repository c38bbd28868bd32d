// Security: the one authorizer and the one user store that both front doors call, so a rule is
// written once. It keeps, durably in the data dir (storage::MetaRecords, synced):
//   - users and their SCRAM credentials (salted; no password is ever stored or logged), which
//     SASL PLAIN, SASL SCRAM and gRPC basic credentials authenticate against;
//   - ACL bindings (acl.h), which Authorize applies as Kafka's authorizer does: super users may
//     do anything; otherwise a matching deny wins, then a matching allow (implied operations
//     included) allows; a resource no binding names is allowed only with
//     allow_everyone_if_no_acl_found. With the authorizer off, everything is allowed.
// Thread-safe. Authorize never waits for I/O; the changes do one synced write each.
#ifndef FERRY_SERVER_SECURITY_SECURITY_H_
#define FERRY_SERVER_SECURITY_SECURITY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/security/acl.h"
#include "server/security/principal.h"
#include "server/security/sasl_server.h"
#include "server/security/scram.h"

namespace ferry::storage {
class Store;
class MetaRecords;
}  // namespace ferry::storage

namespace ferry::security {

struct SecurityOptions {
  bool authorizer = false;  // --authorizer=acl
  // Principals ("User:admin") allowed everything, whatever the ACLs say.
  std::vector<std::string> super_users;
  bool allow_everyone_if_no_acl_found = false;
};

// --authorizer ("none" or "acl") and --super-users ("User:a;User:b", commas too; a bare name is
// a User). INVALID_ARGUMENT names the flag.
absl::StatusOr<SecurityOptions> ParseSecurityFlags(std::string_view authorizer,
                                                   std::string_view super_users,
                                                   bool allow_everyone_if_no_acl_found);

// --users-file: one "name:password" per line (the password is the rest of the line; blank
// lines and lines starting with # are skipped), for the users a deployment starts with (its
// administrators, from a Kubernetes Secret). INVALID_ARGUMENT names the file and the line.
struct InitialUser {
  std::string name;
  std::string password;
};
absl::StatusOr<std::vector<InitialUser>> ReadUsersFile(const std::string& path);

struct UserInfo {
  std::string name;
  std::vector<std::pair<ScramMechanism, int32_t>> credentials;  // mechanism, iterations
};

class Security {
 public:
  // Loads users and ACLs from `store`'s meta records; `store` must outlive it. A null store
  // keeps them in memory only (tests).
  static absl::StatusOr<std::unique_ptr<Security>> Open(storage::Store* store,
                                                        SecurityOptions options);
  ~Security();
  Security(const Security&) = delete;
  Security& operator=(const Security&) = delete;

  bool authorizer_enabled() const { return options_.authorizer; }
  const SecurityOptions& options() const { return options_; }

  // Whether `principal`, connected from `host`, may do `op` on resource (`type`, `name`).
  bool Authorize(const Principal& principal, std::string_view host, Operation op, ResourceType type,
                 std::string_view name) const ABSL_LOCKS_EXCLUDED(mu_);
  bool IsSuperUser(const Principal& principal) const;

  // ACLs. CreateAcl is idempotent (an existing binding is OK); INVALID_ARGUMENT for a binding
  // ValidateBinding refuses. DeleteAcls returns the bindings it removed.
  absl::Status CreateAcl(const AclBinding& binding) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<AclBinding>> DeleteAcls(const AclFilter& filter)
      ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<AclBinding> DescribeAcls(const AclFilter& filter) const ABSL_LOCKS_EXCLUDED(mu_);

  // Users. SetPassword makes credentials for every mechanism in `mechanisms` (both when
  // empty); UpsertCredential sets one (Kafka's AlterUserScramCredentials). INVALID_ARGUMENT for a
  // bad name, password or iterations. DeleteCredential: NOT_FOUND when the user has no
  // credential for `m`; DeleteUser: NOT_FOUND for no such user.
  absl::Status SetPassword(std::string_view user, std::string_view password,
                           std::vector<ScramMechanism> mechanisms = {},
                           int32_t iterations = kMinScramIterations) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status UpsertCredential(std::string_view user, const ScramCredential& credential)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status DeleteCredential(std::string_view user, ScramMechanism m) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status DeleteUser(std::string_view user) ABSL_LOCKS_EXCLUDED(mu_);
  // Every user, by name; or one (nullopt when unknown).
  std::vector<UserInfo> Users() const ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<UserInfo> FindUser(std::string_view user) const ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<ScramCredential> FindCredential(std::string_view user, ScramMechanism m) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // Whether `password` is `user`'s, by any of its credentials. A success is remembered (by a
  // keyed hash, not the password) until the user's credentials change, so a client that
  // authenticates every call does not pay PBKDF2 every time.
  bool CheckPassword(std::string_view user, std::string_view password) const
      ABSL_LOCKS_EXCLUDED(mu_, cache_mu_);

  // Makes each user's password the one given, unless it already is (so a restart does not
  // re-salt, and a password changed in the file takes effect at the next start).
  absl::Status EnsureUsers(const std::vector<InitialUser>& users) ABSL_LOCKS_EXCLUDED(mu_);

  // A server for SASL `mechanism` ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"), over this user
  // store; nullptr for any other.
  std::unique_ptr<SaslServer> NewSaslServer(std::string_view mechanism) const;
  static const std::vector<std::string>& SaslMechanisms();

  // INVALID_ARGUMENT unless a user name is 1 to 255 bytes without control characters.
  static absl::Status ValidateUserName(std::string_view user);

 private:
  Security(storage::Store* store, SecurityOptions options);
  absl::Status Load();
  absl::Status PersistCredential(std::string_view user, ScramMechanism m,
                                 const ScramCredential* credential);

  const SecurityOptions options_;
  std::unique_ptr<storage::MetaRecords> records_;  // null: memory only

  mutable absl::Mutex mu_;
  // The bindings, an immutable snapshot swapped on change, so Authorize copies one pointer.
  std::shared_ptr<const std::vector<AclBinding>> acls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<ScramMechanism, ScramCredential>, std::less<>> users_
      ABSL_GUARDED_BY(mu_);
  uint64_t users_generation_ ABSL_GUARDED_BY(mu_) = 0;

  mutable absl::Mutex cache_mu_;
  struct Verified {
    std::string digest;  // HMAC(cache key, password)
    uint64_t generation = 0;
  };
  mutable std::map<std::string, Verified, std::less<>> verified_ ABSL_GUARDED_BY(cache_mu_);
  const std::string cache_key_;
};

}  // namespace ferry::security

#endif  // FERRY_SERVER_SECURITY_SECURITY_H_
