// The authorizer and user store: in memory for the decisions, persisted as meta records.
// Users: key "<name>\0<mechanism code>" -> EncodeCredential. ACLs: key EncodeBinding -> "".
#include "server/security/security.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/log.h"
#include "storage/meta_records.h"
#include "storage/store.h"

namespace ferry::security {
namespace {

// absl 2022's string_view is its own type, not std::string_view.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

using storage::MetaNamespace;
using storage::MetaRecords;

std::string UserKey(std::string_view user, ScramMechanism m) {
  std::string key(user);
  key.push_back('\0');
  key.push_back(static_cast<char>(m));
  return key;
}

// The most verified passwords remembered (one per user).
constexpr size_t kMaxVerified = 10000;

}  // namespace

absl::StatusOr<SecurityOptions> ParseSecurityFlags(std::string_view authorizer,
                                                   std::string_view super_users,
                                                   bool allow_everyone_if_no_acl_found) {
  SecurityOptions o;
  const std::string mode = absl::AsciiStrToLower(std::string(authorizer));
  if (mode == "acl") {
    o.authorizer = true;
  } else if (mode != "none" && !mode.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--authorizer must be none or acl, not \"", AV(authorizer), "\""));
  }
  for (absl::string_view entry : absl::StrSplit(AV(super_users), absl::ByAnyChar(";,"))) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) continue;
    absl::StatusOr<std::string> p = NormalizePrincipal(std::string(entry));
    if (!p.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--super-users: ", p.status().message()));
    }
    o.super_users.push_back(*p);
  }
  o.allow_everyone_if_no_acl_found = allow_everyone_if_no_acl_found;
  return o;
}

absl::StatusOr<std::vector<InitialUser>> ReadUsersFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--users-file: cannot read ", path));
  std::vector<InitialUser> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    InitialUser u;
    if (colon != std::string::npos) {
      u.name = line.substr(0, colon);
      u.password = line.substr(colon + 1);
    }
    if (colon == std::string::npos || !Security::ValidateUserName(u.name).ok() ||
        u.password.empty()) {
      // The line itself is not repeated: it holds a password.
      return absl::InvalidArgumentError(
          absl::StrCat("--users-file ", path, " line ", n,
                       ": expected name:password with a non-empty name "
                       "and password"));
    }
    out.push_back(std::move(u));
  }
  return out;
}

Security::Security(storage::Store* store, SecurityOptions options)
    : options_(std::move(options)),
      acls_(std::make_shared<const std::vector<AclBinding>>()),
      cache_key_(scram_internal::RandomBytes(32)) {
  if (store != nullptr) records_ = std::make_unique<MetaRecords>(store->db(), store->meta_cf());
}

Security::~Security() = default;

absl::StatusOr<std::unique_ptr<Security>> Security::Open(storage::Store* store,
                                                         SecurityOptions options) {
  std::unique_ptr<Security> s(new Security(store, std::move(options)));
  if (absl::Status st = s->Load(); !st.ok()) return st;
  return s;
}

absl::Status Security::Load() {
  if (records_ == nullptr) return absl::OkStatus();
  int skipped = 0;
  std::map<std::string, std::map<ScramMechanism, ScramCredential>, std::less<>> users;
  absl::Status s =
      records_->Scan(MetaNamespace::kUsers, [&](std::string_view key, std::string_view value) {
        const size_t nul = key.find('\0');
        std::optional<ScramCredential> c = DecodeCredential(value);
        if (nul == std::string_view::npos || nul + 2 != key.size() || !c.has_value() ||
            static_cast<char>(c->mechanism) != key[nul + 1]) {
          ++skipped;
          return;
        }
        users[std::string(key.substr(0, nul))][c->mechanism] = std::move(*c);
      });
  if (!s.ok()) return s;
  auto acls = std::make_shared<std::vector<AclBinding>>();
  s = records_->Scan(MetaNamespace::kAcls, [&](std::string_view key, std::string_view) {
    std::optional<AclBinding> b = DecodeBinding(key);
    if (!b.has_value()) {
      ++skipped;
      return;
    }
    acls->push_back(std::move(*b));
  });
  if (!s.ok()) return s;
  if (skipped > 0) {
    log::Event(log::Level::kWarn, "security_records_skipped",
               {{"count", std::to_string(skipped)}, {"why", "not readable by this version"}});
  }
  absl::MutexLock lock(&mu_);
  users_ = std::move(users);
  acls_ = std::move(acls);
  return absl::OkStatus();
}

bool Security::IsSuperUser(const Principal& principal) const {
  if (options_.super_users.empty()) return false;
  const std::string p = principal.ToString();
  return std::find(options_.super_users.begin(), options_.super_users.end(), p) !=
         options_.super_users.end();
}

bool Security::Authorize(const Principal& principal, std::string_view host, Operation op,
                         ResourceType type, std::string_view name) const {
  if (!options_.authorizer) return true;
  if (IsSuperUser(principal)) return true;
  std::shared_ptr<const std::vector<AclBinding>> acls;
  {
    absl::ReaderMutexLock lock(&mu_);
    acls = acls_;
  }
  const std::string who = principal.ToString();
  const std::string any_of_type = principal.type + ":*";
  bool named = false;
  bool allowed = false;
  for (const AclBinding& b : *acls) {
    if (!ResourceMatches(b, type, name)) continue;
    named = true;
    if (b.principal != who && b.principal != any_of_type) continue;
    if (b.host != kWildcard && b.host != host) continue;
    if (!OperationCovers(b, op)) continue;
    if (b.permission == Permission::kDeny) return false;
    allowed = true;
  }
  if (allowed) return true;
  return !named && options_.allow_everyone_if_no_acl_found;
}

absl::Status Security::CreateAcl(const AclBinding& binding) {
  if (absl::Status s = ValidateBinding(binding); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (std::find(acls_->begin(), acls_->end(), binding) != acls_->end()) return absl::OkStatus();
  if (records_ != nullptr) {
    absl::Status s = records_->Apply(MetaNamespace::kAcls, {{EncodeBinding(binding), "", false}});
    if (!s.ok()) return s;
  }
  auto next = std::make_shared<std::vector<AclBinding>>(*acls_);
  next->push_back(binding);
  std::sort(next->begin(), next->end());
  acls_ = std::move(next);
  log::Event(log::Level::kInfo, "acl_created", {{"acl", Describe(binding)}});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AclBinding>> Security::DeleteAcls(const AclFilter& filter) {
  if (absl::Status s = ValidateFilter(filter); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  std::vector<AclBinding> removed;
  auto next = std::make_shared<std::vector<AclBinding>>();
  std::vector<MetaRecords::Change> changes;
  for (const AclBinding& b : *acls_) {
    if (FilterMatches(filter, b)) {
      removed.push_back(b);
      changes.push_back({EncodeBinding(b), "", true});
    } else {
      next->push_back(b);
    }
  }
  if (removed.empty()) return removed;
  if (records_ != nullptr) {
    if (absl::Status s = records_->Apply(MetaNamespace::kAcls, changes); !s.ok()) return s;
  }
  acls_ = std::move(next);
  for (const AclBinding& b : removed) {
    log::Event(log::Level::kInfo, "acl_deleted", {{"acl", Describe(b)}});
  }
  return removed;
}

std::vector<AclBinding> Security::DescribeAcls(const AclFilter& filter) const {
  std::shared_ptr<const std::vector<AclBinding>> acls;
  {
    absl::ReaderMutexLock lock(&mu_);
    acls = acls_;
  }
  std::vector<AclBinding> out;
  for (const AclBinding& b : *acls) {
    if (FilterMatches(filter, b)) out.push_back(b);
  }
  return out;
}

absl::Status Security::ValidateUserName(std::string_view user) {
  if (user.empty() || user.size() > 255) {
    return absl::InvalidArgumentError("a user name is 1 to 255 bytes");
  }
  for (char c : user) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("a user name has no control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status Security::PersistCredential(std::string_view user, ScramMechanism m,
                                         const ScramCredential* credential) {
  if (records_ == nullptr) return absl::OkStatus();
  MetaRecords::Change c;
  c.key = UserKey(user, m);
  if (credential != nullptr) {
    c.value = EncodeCredential(*credential);
  } else {
    c.erase = true;
  }
  return records_->Apply(MetaNamespace::kUsers, {c});
}

absl::Status Security::SetPassword(std::string_view user, std::string_view password,
                                   std::vector<ScramMechanism> mechanisms, int32_t iterations) {
  if (absl::Status s = ValidateUserName(user); !s.ok()) return s;
  if (mechanisms.empty()) mechanisms = {ScramMechanism::kSha256, ScramMechanism::kSha512};
  std::vector<ScramCredential> made;
  for (ScramMechanism m : mechanisms) {
    absl::StatusOr<ScramCredential> c = MakeScramCredential(m, password, iterations);
    if (!c.ok()) return c.status();
    made.push_back(std::move(*c));
  }
  absl::MutexLock lock(&mu_);
  if (records_ != nullptr) {
    std::vector<MetaRecords::Change> changes;
    for (const ScramCredential& c : made) {
      changes.push_back({UserKey(user, c.mechanism), EncodeCredential(c), false});
    }
    if (absl::Status s = records_->Apply(MetaNamespace::kUsers, changes); !s.ok()) return s;
  }
  auto& creds = users_[std::string(user)];
  for (ScramCredential& c : made) creds[c.mechanism] = std::move(c);
  ++users_generation_;
  log::Event(log::Level::kInfo, "user_credentials_set", {{"user", std::string(user)}});
  return absl::OkStatus();
}

absl::Status Security::UpsertCredential(std::string_view user, const ScramCredential& credential) {
  if (absl::Status s = ValidateUserName(user); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (absl::Status s = PersistCredential(user, credential.mechanism, &credential); !s.ok()) {
    return s;
  }
  users_[std::string(user)][credential.mechanism] = credential;
  ++users_generation_;
  log::Event(log::Level::kInfo, "user_credentials_set",
             {{"user", std::string(user)},
              {"mechanism", std::string(MechanismName(credential.mechanism))}});
  return absl::OkStatus();
}

absl::Status Security::DeleteCredential(std::string_view user, ScramMechanism m) {
  absl::MutexLock lock(&mu_);
  auto it = users_.find(user);
  if (it == users_.end() || it->second.count(m) == 0) {
    return absl::NotFoundError(
        absl::StrCat("user \"", AV(user), "\" has no ", AV(MechanismName(m)), " credential"));
  }
  if (absl::Status s = PersistCredential(user, m, nullptr); !s.ok()) return s;
  it->second.erase(m);
  if (it->second.empty()) users_.erase(it);
  ++users_generation_;
  log::Event(log::Level::kInfo, "user_credentials_deleted",
             {{"user", std::string(user)}, {"mechanism", std::string(MechanismName(m))}});
  return absl::OkStatus();
}

absl::Status Security::DeleteUser(std::string_view user) {
  absl::MutexLock lock(&mu_);
  auto it = users_.find(user);
  if (it == users_.end()) return absl::NotFoundError(absl::StrCat("no user \"", AV(user), "\""));
  if (records_ != nullptr) {
    std::vector<MetaRecords::Change> changes;
    for (const auto& [m, c] : it->second) changes.push_back({UserKey(user, m), "", true});
    if (absl::Status s = records_->Apply(MetaNamespace::kUsers, changes); !s.ok()) return s;
  }
  users_.erase(it);
  ++users_generation_;
  log::Event(log::Level::kInfo, "user_deleted", {{"user", std::string(user)}});
  return absl::OkStatus();
}

std::vector<UserInfo> Security::Users() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<UserInfo> out;
  for (const auto& [name, creds] : users_) {
    UserInfo u;
    u.name = name;
    for (const auto& [m, c] : creds) u.credentials.emplace_back(m, c.iterations);
    out.push_back(std::move(u));
  }
  return out;
}

std::optional<UserInfo> Security::FindUser(std::string_view user) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = users_.find(user);
  if (it == users_.end()) return std::nullopt;
  UserInfo u;
  u.name = it->first;
  for (const auto& [m, c] : it->second) u.credentials.emplace_back(m, c.iterations);
  return u;
}

std::optional<ScramCredential> Security::FindCredential(std::string_view user,
                                                        ScramMechanism m) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = users_.find(user);
  if (it == users_.end()) return std::nullopt;
  auto c = it->second.find(m);
  if (c == it->second.end()) return std::nullopt;
  return c->second;
}

bool Security::CheckPassword(std::string_view user, std::string_view password) const {
  std::optional<ScramCredential> credential;
  uint64_t generation = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = users_.find(user);
    if (it == users_.end() || it->second.empty()) return false;
    credential = it->second.begin()->second;  // any credential verifies the password
    generation = users_generation_;
  }
  const std::string digest =
      scram_internal::Hmac(ScramMechanism::kSha256, cache_key_,
                           absl::StrCat(AV(user), std::string(1, '\0'), AV(password)));
  {
    absl::MutexLock lock(&cache_mu_);
    auto it = verified_.find(user);
    if (it != verified_.end() && it->second.generation == generation &&
        scram_internal::ConstantTimeEquals(it->second.digest, digest)) {
      return true;
    }
  }
  if (!security::CheckPassword(*credential, password)) return false;
  absl::MutexLock lock(&cache_mu_);
  if (verified_.size() >= kMaxVerified) verified_.clear();
  verified_[std::string(user)] = Verified{digest, generation};
  return true;
}

absl::Status Security::EnsureUsers(const std::vector<InitialUser>& users) {
  for (const InitialUser& u : users) {
    if (CheckPassword(u.name, u.password)) {
      const std::optional<UserInfo> info = FindUser(u.name);
      if (info.has_value() && info->credentials.size() == 2) continue;
    }
    if (absl::Status s = SetPassword(u.name, u.password); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("--users-file user ", u.name, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

std::unique_ptr<SaslServer> Security::NewSaslServer(std::string_view mechanism) const {
  SaslCredentials c;
  c.scram = [this](std::string_view user, ScramMechanism m) { return FindCredential(user, m); };
  c.check_password = [this](std::string_view user, std::string_view password) {
    return CheckPassword(user, password);
  };
  if (mechanism == "PLAIN") return NewPlainServer(std::move(c));
  if (mechanism == "SCRAM-SHA-256") return NewScramServer(ScramMechanism::kSha256, std::move(c));
  if (mechanism == "SCRAM-SHA-512") return NewScramServer(ScramMechanism::kSha512, std::move(c));
  return nullptr;
}

const std::vector<std::string>& Security::SaslMechanisms() {
  static const auto* m = new std::vector<std::string>{"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"};
  return *m;
}

}  // namespace ferry::security
