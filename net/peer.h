// Who is on the other end of a connection: a role and a rank within that role. net/ carries
// the role as one byte and gives it no meaning: the layer above names its roles (ps/roles.h)
// and tells each device which ones it accepts (DeviceOptions::roles), so a peer claiming any
// other byte is refused in the handshake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace gw {

struct PeerId {
  uint8_t role = 0;  // 0 is never a role: a zeroed identity is refused
  uint32_t rank = 0;

  bool operator==(const PeerId&) const = default;
};

// The roles a device accepts and their names for messages ("worker 3").
class PeerRoles {
 public:
  // A handful of process kinds; bounds the table a peer's claimed byte is looked up in.
  static constexpr size_t kMaxRoles = 8;

  PeerRoles() = default;  // accepts nobody
  // Throws gw::Error on role 0, a repeated role or more than kMaxRoles.
  PeerRoles(std::initializer_list<std::pair<uint8_t, std::string>> roles);

  bool Accepts(uint8_t role) const;
  // "worker 3"; "role 9 rank 3" for a role not accepted (a peer's claim, say).
  std::string Name(const PeerId& peer) const;

 private:
  std::vector<std::pair<uint8_t, std::string>> roles_;
};

}  // namespace gw
