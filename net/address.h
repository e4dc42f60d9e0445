// Transport addresses: "tcp://host:port", "rdma://host:port" or "sim://host:port" (a host of
// the simulated platform, net/sim); a bare "host:port" is TCP.
#pragma once

#include <cstdint>
#include <string>

namespace gw {

enum class TransportKind { kTcp, kRdma, kSim };

// "tcp", "rdma", "sim": the scheme of its addresses.
const char* SchemeOf(TransportKind kind);

struct Address {
  TransportKind transport = TransportKind::kTcp;
  std::string host;
  uint16_t port = 0;

  // Throws gw::Error with what is wrong and an example of a valid address.
  static Address Parse(const std::string& text);
  std::string ToString() const;
};

}  // namespace gw
