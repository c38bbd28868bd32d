// How the client library connects to a broker serving TLS (ferryd --tls-cert): the CA to trust,
// and a client certificate for a broker that requires mTLS. PEM text, not file names.
#ifndef FERRY_CLIENT_FERRY_TLS_H_
#define FERRY_CLIENT_FERRY_TLS_H_

#include <string>

namespace ferry {

struct TlsOptions {
  bool enabled = false;  // false: plaintext
  std::string ca_pem;    // empty: the system's trusted CAs
  std::string cert_pem;  // client certificate chain (mTLS), with key_pem
  std::string key_pem;
  std::string server_name;  // the name the broker's certificate must carry; empty: the host
};

// A user and password the broker checks (ferryd --authorizer=acl), sent with every call as
// `authorization: Basic base64(user:password)` metadata. Use TLS: ferryd refuses passwords on a
// plaintext listener unless started with --sasl-plain-without-tls. Empty user: none sent.
struct Credentials {
  std::string user;
  std::string password;
};

}  // namespace ferry

#endif  // FERRY_CLIENT_FERRY_TLS_H_
