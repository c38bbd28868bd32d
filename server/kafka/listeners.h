// Kafka listeners as Kafka names them (listeners / advertised.listeners): each listener has a
// name, an address it binds and an address clients are told to connect to. Metadata,
// FindCoordinator and DescribeCluster answer with the advertised address of the listener the
// request came in on, so one broker can be reached inside a Kubernetes cluster by its pod DNS
// name and from outside through a NodePort or a port-forward. Each listener speaks one security
// protocol, as Kafka's listener.security.protocol.map gives it.
#ifndef FERRY_SERVER_KAFKA_LISTENERS_H_
#define FERRY_SERVER_KAFKA_LISTENERS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::kafka {

// Kafka's security.protocol of a listener: whether its bytes are TLS and whether its clients
// must authenticate with SASL before other requests.
enum class SecurityProtocol { kPlaintext, kSsl, kSaslPlaintext, kSaslSsl };

// "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL".
std::string_view SecurityProtocolName(SecurityProtocol p);
inline bool UsesTls(SecurityProtocol p) {
  return p == SecurityProtocol::kSsl || p == SecurityProtocol::kSaslSsl;
}
inline bool UsesSasl(SecurityProtocol p) {
  return p == SecurityProtocol::kSaslPlaintext || p == SecurityProtocol::kSaslSsl;
}

struct KafkaListener {
  std::string name = "PLAINTEXT";  // [A-Z0-9_]+, unique among the listeners
  std::string host;                // to bind; empty: every interface
  int port = 9092;                 // 0: the kernel picks one
  // What clients are told; empty host: the bind host (127.0.0.1 for every interface);
  // port 0: the bound port.
  std::string advertised_host;
  int advertised_port = 0;
  // By the listener's name when it is a protocol's name, else by --kafka-security-protocol-map.
  SecurityProtocol protocol = SecurityProtocol::kPlaintext;
};

// Parses --kafka-listen, "[NAME://]host:port[,[NAME://]host:port...]", and --kafka-advertise,
// "[NAME://]host[:port][,...]". A listener without a name is PLAINTEXT, so only one may go
// unnamed; an advertised address without a name belongs to the only listener. Hosts may be
// "[v6]" literals. INVALID_ARGUMENT names the flag and the entry that is wrong.
// `protocol_map` is --kafka-security-protocol-map, "NAME:PROTOCOL[,...]" (Kafka's
// listener.security.protocol.map): the protocol of each listener whose name is not itself a
// protocol's name; a listener with neither is INVALID_ARGUMENT naming the flag and listener.
absl::StatusOr<std::vector<KafkaListener>> ParseKafkaListeners(std::string_view listen,
                                                               std::string_view advertise,
                                                               std::string_view protocol_map = "");

// "host:port" with [brackets] for an IPv6 literal.
std::string JoinHostPort(std::string_view host, int port);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_LISTENERS_H_
