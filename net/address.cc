#include "net/address.h"

#include <charconv>

#include "base/error.h"

namespace gw {

const char* SchemeOf(TransportKind kind) {
  switch (kind) {
    case TransportKind::kTcp:
      return "tcp";
    case TransportKind::kRdma:
      return "rdma";
    case TransportKind::kSim:
      return "sim";
  }
  return "unknown";
}

Address Address::Parse(const std::string& text) {
  Address a;
  std::string rest = text;
  const auto scheme_end = text.find("://");
  if (scheme_end != std::string::npos) {
    const std::string scheme = text.substr(0, scheme_end);
    if (scheme == "tcp") {
      a.transport = TransportKind::kTcp;
    } else if (scheme == "rdma") {
      a.transport = TransportKind::kRdma;
    } else if (scheme == "sim") {
      a.transport = TransportKind::kSim;
    } else {
      throw Error("address '" + text + "': unknown transport '" + scheme +
                  "' (use tcp://host:port, rdma://host:port or sim://host:port)");
    }
    rest = text.substr(scheme_end + 3);
  }
  // [v6::addr]:port or host:port
  std::string host, port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      throw Error("address '" + text + "': expected [ipv6]:port");
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos) {
      throw Error("address '" + text + "': missing port (e.g. tcp://127.0.0.1:9000)");
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) throw Error("address '" + text + "': missing host");
  if (host.find_first_of("[]") != std::string::npos) {
    throw Error("address '" + text + "': '[' and ']' may only enclose an IPv6 host ([::1]:9000)");
  }
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || value > 65535) {
    throw Error("address '" + text + "': port '" + port + "' is not a number in 0..65535");
  }
  a.host = host;
  a.port = static_cast<uint16_t>(value);
  return a;
}

std::string Address::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(SchemeOf(transport)) + "://" + (v6 ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

}  // namespace gw
