// Kafka listeners as Kafka names them (listeners / advertised.listeners): each listener has a
// name, an address it binds and an address clients are told to connect to. Metadata,
// FindCoordinator and DescribeCluster answer with the advertised address of the listener the
// request came in on, so one broker can be reached inside a Kubernetes cluster by its pod DNS
// name and from outside through a NodePort or a port-forward.
#ifndef FERRY_SERVER_KAFKA_LISTENERS_H_
#define FERRY_SERVER_KAFKA_LISTENERS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ferry::kafka {

struct KafkaListener {
  std::string name = "PLAINTEXT";  // [A-Z0-9_]+, unique among the listeners
  std::string host;                // to bind; empty: every interface
  int port = 9092;                 // 0: the kernel picks one
  // What clients are told; empty host: the bind host (127.0.0.1 for every interface);
  // port 0: the bound port.
  std::string advertised_host;
  int advertised_port = 0;
};

// Parses --kafka-listen, "[NAME://]host:port[,[NAME://]host:port...]", and --kafka-advertise,
// "[NAME://]host[:port][,...]". A listener without a name is PLAINTEXT, so only one may go
// unnamed; an advertised address without a name belongs to the only listener. Hosts may be
// "[v6]" literals. INVALID_ARGUMENT names the flag and the entry that is wrong.
absl::StatusOr<std::vector<KafkaListener>> ParseKafkaListeners(std::string_view listen,
                                                               std::string_view advertise);

// "host:port" with [brackets] for an IPv6 literal.
std::string JoinHostPort(std::string_view host, int port);

}  // namespace ferry::kafka

#endif  // FERRY_SERVER_KAFKA_LISTENERS_H_
