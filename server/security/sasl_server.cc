// PLAIN and SCRAM exchanges. A SCRAM exchange for a user that does not exist goes on with a
// made-up credential and fails at the proof, as it would for a wrong password, so the
// mechanism does not tell which users exist.
#include "server/security/sasl_server.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ferry::security {
namespace {

// absl 2022's string_view is its own type, not std::string_view.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

using scram_internal::Base64Decode;
using scram_internal::Base64Encode;
using scram_internal::ConstantTimeEquals;
using scram_internal::Hash;
using scram_internal::Hmac;
using scram_internal::RandomBytes;

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed SASL message: ", AV(what)));
}

absl::Status BadCredentials(std::string_view mechanism) {
  return absl::UnauthenticatedError(absl::StrCat(
      "Authentication failed: invalid credentials with SASL mechanism ", AV(mechanism)));
}

class PlainServer : public SaslServer {
 public:
  explicit PlainServer(SaslCredentials c) : credentials_(std::move(c)) {}

  absl::StatusOr<Step> Evaluate(std::string_view message) override {
    if (finished_) return Malformed("the PLAIN exchange is over");
    finished_ = true;
    if (message.size() > kMaxSaslMessageBytes) return Malformed("too long");
    // authzid NUL authcid NUL passwd
    const std::vector<absl::string_view> parts = absl::StrSplit(AV(message), '\0');
    if (parts.size() != 3) return Malformed("PLAIN is authzid\\0user\\0password");
    const std::string_view authzid(parts[0].data(), parts[0].size());
    const std::string_view user(parts[1].data(), parts[1].size());
    const std::string_view password(parts[2].data(), parts[2].size());
    if (user.empty() || password.empty()) return Malformed("PLAIN has an empty user or password");
    if (!authzid.empty() && authzid != user) {
      return absl::UnauthenticatedError(
          "Authentication failed: the authorization id must be the user's own");
    }
    if (!credentials_.check_password || !credentials_.check_password(user, password)) {
      return BadCredentials(mechanism());
    }
    user_ = std::string(user);
    return Step{"", true};
  }
  const std::string& user() const override { return user_; }
  std::string_view mechanism() const override { return "PLAIN"; }

 private:
  SaslCredentials credentials_;
  bool finished_ = false;
  std::string user_;
};

// The value of attribute `key` ("n=" ...) in a SCRAM message's comma-separated list.
std::optional<std::string_view> Attribute(const std::vector<std::string_view>& attrs, size_t index,
                                          char key) {
  if (index >= attrs.size() || attrs[index].size() < 2 || attrs[index][0] != key ||
      attrs[index][1] != '=') {
    return std::nullopt;
  }
  return attrs[index].substr(2);
}

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> out;
  for (absl::string_view part : absl::StrSplit(AV(s), ','))
    out.emplace_back(part.data(), part.size());
  return out;
}

// saslname: "=2C" is ",", "=3D" is "="; any other "=" is malformed.
std::optional<std::string> DecodeSaslName(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out.push_back(s[i]);
      continue;
    }
    const std::string_view esc = s.substr(i + 1, 2);
    if (esc == "2C") {
      out.push_back(',');
    } else if (esc == "3D") {
      out.push_back('=');
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

// A key only this process knows: made-up credentials for unknown users are stable for a user
// (a client cannot tell them from real ones by asking twice) and unguessable.
const std::string& ProcessSecret() {
  static const std::string* secret = new std::string(RandomBytes(32));
  return *secret;
}

class ScramServer : public SaslServer {
 public:
  ScramServer(ScramMechanism m, SaslCredentials c) : m_(m), credentials_(std::move(c)) {}

  absl::StatusOr<Step> Evaluate(std::string_view message) override {
    if (message.size() > kMaxSaslMessageBytes) return Fail(Malformed("too long"));
    switch (state_) {
      case State::kFirst:
        return First(message);
      case State::kFinal:
        return Final(message);
      default:
        return Fail(Malformed("the SCRAM exchange is over"));
    }
  }
  const std::string& user() const override { return authenticated_; }
  std::string_view mechanism() const override { return MechanismName(m_); }

 private:
  enum class State { kFirst, kFinal, kDone, kFailed };

  absl::StatusOr<Step> Fail(absl::Status s) {
    state_ = State::kFailed;
    return s;
  }

  absl::StatusOr<Step> First(std::string_view message) {
    // gs2-header: "n," (no channel binding) or "y,"; then [a=authzid] ","; then the bare part.
    if (absl::StartsWith(AV(message), "p=")) {
      return Fail(Malformed("channel binding is not supported"));
    }
    if (!absl::StartsWith(AV(message), "n,") && !absl::StartsWith(AV(message), "y,")) {
      return Fail(Malformed("the first SCRAM message starts with \"n,\""));
    }
    const size_t authz_end = message.find(',', 2);
    if (authz_end == std::string_view::npos) return Fail(Malformed("no gs2 header"));
    const std::string_view authz = message.substr(2, authz_end - 2);
    gs2_header_ = std::string(message.substr(0, authz_end + 1));
    client_first_bare_ = std::string(message.substr(authz_end + 1));
    const std::vector<std::string_view> attrs = Split(client_first_bare_);
    const auto name = Attribute(attrs, 0, 'n');
    const auto nonce = Attribute(attrs, 1, 'r');
    if (!name.has_value() || !nonce.has_value() || nonce->empty()) {
      return Fail(Malformed("the first SCRAM message is n=user,r=nonce"));
    }
    for (size_t i = 2; i < attrs.size(); ++i) {
      if (attrs[i] == "tokenauth=true") {
        return Fail(absl::UnauthenticatedError("delegation tokens are not supported"));
      }
    }
    std::optional<std::string> user = DecodeSaslName(*name);
    if (!user.has_value() || user->empty()) return Fail(Malformed("the user name"));
    if (!authz.empty()) {
      std::optional<std::string> authzid =
          absl::StartsWith(AV(authz), "a=") ? DecodeSaslName(authz.substr(2)) : std::nullopt;
      if (!authzid.has_value() || *authzid != *user) {
        return Fail(absl::UnauthenticatedError(
            "Authentication failed: the authorization id must be the user's own"));
      }
    }
    user_ = std::move(*user);
    std::optional<ScramCredential> c;
    if (credentials_.scram) c = credentials_.scram(user_, m_);
    if (c.has_value()) {
      credential_ = std::move(*c);
      known_ = true;
    } else {
      credential_.mechanism = m_;
      credential_.iterations = kMinScramIterations;
      credential_.salt = Hmac(ScramMechanism::kSha256, ProcessSecret(), user_);
      credential_.stored_key = RandomBytes(m_ == ScramMechanism::kSha256 ? 32 : 64);
      credential_.server_key = RandomBytes(m_ == ScramMechanism::kSha256 ? 32 : 64);
    }
    nonce_ = absl::StrCat(AV(*nonce), Base64Encode(RandomBytes(18)));
    server_first_ = absl::StrCat("r=", nonce_, ",s=", Base64Encode(credential_.salt),
                                 ",i=", credential_.iterations);
    state_ = State::kFinal;
    return Step{server_first_, false};
  }

  absl::StatusOr<Step> Final(std::string_view message) {
    const size_t proof_at = message.rfind(",p=");
    if (proof_at == std::string_view::npos) return Fail(Malformed("no proof"));
    const std::string_view without_proof = message.substr(0, proof_at);
    const std::vector<std::string_view> attrs = Split(without_proof);
    const auto binding = Attribute(attrs, 0, 'c');
    const auto nonce = Attribute(attrs, 1, 'r');
    if (!binding.has_value() || !nonce.has_value()) {
      return Fail(Malformed("the final SCRAM message is c=...,r=...,p=..."));
    }
    const std::optional<std::string> gs2 = Base64Decode(*binding);
    if (!gs2.has_value() || *gs2 != gs2_header_) {
      return Fail(Malformed("the channel binding does not repeat the gs2 header"));
    }
    // Kafka accepts a nonce that ends with the server's (librdkafka sends the client nonce
    // again in front of it); the proof covers the message as sent either way.
    if (!absl::EndsWith(AV(*nonce), nonce_)) {
      return Fail(Malformed("the nonce is not the server's"));
    }
    const std::optional<std::string> proof = Base64Decode(message.substr(proof_at + 3));
    if (!proof.has_value() || proof->size() != credential_.stored_key.size()) {
      return Fail(Malformed("the proof"));
    }
    const std::string auth_message =
        absl::StrCat(client_first_bare_, ",", server_first_, ",", AV(without_proof));
    const std::string signature = Hmac(m_, credential_.stored_key, auth_message);
    std::string client_key = *proof;
    for (size_t i = 0; i < client_key.size(); ++i) client_key[i] ^= signature[i];
    if (!ConstantTimeEquals(Hash(m_, client_key), credential_.stored_key) || !known_) {
      return Fail(BadCredentials(mechanism()));
    }
    state_ = State::kDone;
    authenticated_ = user_;
    return Step{absl::StrCat("v=", Base64Encode(Hmac(m_, credential_.server_key, auth_message))),
                true};
  }

  const ScramMechanism m_;
  SaslCredentials credentials_;
  State state_ = State::kFirst;
  std::string user_;
  std::string authenticated_;
  ScramCredential credential_;
  bool known_ = false;
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;
};

}  // namespace

std::unique_ptr<SaslServer> NewPlainServer(SaslCredentials credentials) {
  return std::make_unique<PlainServer>(std::move(credentials));
}

std::unique_ptr<SaslServer> NewScramServer(ScramMechanism m, SaslCredentials credentials) {
  return std::make_unique<ScramServer>(m, std::move(credentials));
}

}  // namespace ferry::security
