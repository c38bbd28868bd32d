#include "server/kafka/listeners.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ferry::kafka {
namespace {

struct Entry {
  std::string name;  // empty: not named
  std::string host;
  int port = -1;  // -1: none given
};

bool ValidName(absl::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// "[NAME://]host[:port]"; `need_port` for a listen address.
absl::StatusOr<Entry> ParseEntry(absl::string_view flag, absl::string_view text, bool need_port) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", std::string(flag), ": '", std::string(text), "' ", std::string(why)));
  };
  Entry e;
  absl::string_view rest = text;
  if (const size_t sep = rest.find("://"); sep != absl::string_view::npos) {
    e.name = std::string(rest.substr(0, sep));
    if (!ValidName(e.name)) {
      return bad("has a listener name that is not upper case letters, digits and '_'");
    }
    rest.remove_prefix(sep + 3);
  }
  absl::string_view port_text;
  bool has_port = false;
  if (absl::ConsumePrefix(&rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) return bad("has an unclosed '[' in its host");
    e.host = std::string(rest.substr(0, close));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (!absl::ConsumePrefix(&rest, ":")) return bad("has text after its ']'");
      port_text = rest;
      has_port = true;
    }
  } else {
    const size_t colon = rest.rfind(':');
    if (colon != absl::string_view::npos) {
      if (rest.find(':') != colon) return bad("needs [brackets] around an IPv6 host");
      e.host = std::string(rest.substr(0, colon));
      port_text = rest.substr(colon + 1);
      has_port = true;
    } else {
      e.host = std::string(rest);
    }
  }
  if (has_port) {
    if (!absl::SimpleAtoi(port_text, &e.port) || e.port < 0 || e.port > 65535) {
      return bad("has a port that is not 0..65535");
    }
  } else if (need_port) {
    return bad("needs a port: host:port, [NAME://]host:port");
  }
  if (!need_port && e.host.empty()) return bad("needs a host clients can resolve");
  return e;
}

bool ProtocolByName(absl::string_view name, SecurityProtocol* out) {
  for (SecurityProtocol p : {SecurityProtocol::kPlaintext, SecurityProtocol::kSsl,
                             SecurityProtocol::kSaslPlaintext, SecurityProtocol::kSaslSsl}) {
    const std::string_view n = SecurityProtocolName(p);
    if (name == absl::string_view(n.data(), n.size())) {
      *out = p;
      return true;
    }
  }
  return false;
}

// --kafka-security-protocol-map into `listeners`.
absl::Status ApplyProtocolMap(absl::string_view map, std::vector<KafkaListener>* listeners) {
  std::vector<std::string> mapped;
  for (absl::string_view item : absl::StrSplit(map, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    const size_t colon = item.find(':');
    const auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("--kafka-security-protocol-map: '",
                                                     std::string(item), "' ", std::string(why)));
    };
    if (colon == absl::string_view::npos) return bad("is not NAME:PROTOCOL");
    const std::string name(absl::StripAsciiWhitespace(item.substr(0, colon)));
    const absl::string_view protocol = absl::StripAsciiWhitespace(item.substr(colon + 1));
    if (!ValidName(name)) return bad("has a name that is not upper case letters, digits and '_'");
    SecurityProtocol p;
    if (!ProtocolByName(protocol, &p)) {
      return bad("has a protocol that is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL");
    }
    if (std::find(mapped.begin(), mapped.end(), name) != mapped.end()) {
      return bad("maps a listener named before");
    }
    mapped.push_back(name);
    // A name with no listener is not an error: one map may serve several brokers' listeners.
    for (KafkaListener& l : *listeners) {
      if (l.name == name) l.protocol = p;
    }
  }
  for (KafkaListener& l : *listeners) {
    if (std::find(mapped.begin(), mapped.end(), l.name) != mapped.end()) continue;
    if (!ProtocolByName(l.name, &l.protocol)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--kafka-security-protocol-map: listener ", l.name,
          " has no security protocol: name it PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, or map "
          "it, e.g. --kafka-security-protocol-map=",
          l.name, ":SSL"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view SecurityProtocolName(SecurityProtocol p) {
  switch (p) {
    case SecurityProtocol::kPlaintext:
      return "PLAINTEXT";
    case SecurityProtocol::kSsl:
      return "SSL";
    case SecurityProtocol::kSaslPlaintext:
      return "SASL_PLAINTEXT";
    case SecurityProtocol::kSaslSsl:
      return "SASL_SSL";
  }
  return "PLAINTEXT";
}

std::string JoinHostPort(std::string_view host, int port) {
  if (host.find(':') != absl::string_view::npos) {
    return absl::StrCat("[", std::string(host), "]:", port);
  }
  return absl::StrCat(std::string(host), ":", port);
}

absl::StatusOr<std::vector<KafkaListener>> ParseKafkaListeners(std::string_view listen,
                                                               std::string_view advertise,
                                                               std::string_view protocol_map) {
  std::vector<KafkaListener> out;
  int unnamed = 0;
  for (absl::string_view item : absl::StrSplit(absl::string_view(listen.data(), listen.size()), ',',
                                               absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    absl::StatusOr<Entry> e = ParseEntry("kafka-listen", item, /*need_port=*/true);
    if (!e.ok()) return e.status();
    KafkaListener l;
    if (e->name.empty()) {
      ++unnamed;
    } else {
      l.name = e->name;
    }
    l.host = e->host;
    l.port = e->port;
    for (const KafkaListener& other : out) {
      if (other.name == l.name) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--kafka-listen: two listeners are named ", l.name,
            unnamed > 1 ? " (a listener without NAME:// is PLAINTEXT; name them)" : ""));
      }
    }
    out.push_back(std::move(l));
  }
  if (out.empty()) return out;
  for (absl::string_view item : absl::StrSplit(
           absl::string_view(advertise.data(), advertise.size()), ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    absl::StatusOr<Entry> e = ParseEntry("kafka-advertise", item, /*need_port=*/false);
    if (!e.ok()) return e.status();
    KafkaListener* target = nullptr;
    if (e->name.empty()) {
      if (out.size() != 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--kafka-advertise: '", std::string(item),
            "' names no listener, and --kafka-listen has several: write NAME://host:port"));
      }
      target = &out[0];
    } else {
      for (KafkaListener& l : out) {
        if (l.name == e->name) target = &l;
      }
      if (target == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("--kafka-advertise: '", std::string(item),
                                                       "' names listener ", e->name,
                                                       ", which --kafka-listen does not have"));
      }
    }
    if (!target->advertised_host.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--kafka-advertise: listener ", target->name, " is advertised twice"));
    }
    target->advertised_host = e->host;
    target->advertised_port = e->port < 0 ? 0 : e->port;
  }
  absl::Status s =
      ApplyProtocolMap(absl::string_view(protocol_map.data(), protocol_map.size()), &out);
  if (!s.ok()) return s;
  return out;
}

}  // namespace ferry::kafka
