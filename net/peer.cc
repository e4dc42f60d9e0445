#include "net/peer.h"

#include <algorithm>

#include "base/error.h"

namespace gw {

PeerRoles::PeerRoles(std::initializer_list<std::pair<uint8_t, std::string>> roles) {
  if (roles.size() > kMaxRoles) {
    throw Error("PeerRoles: " + std::to_string(roles.size()) + " roles, at most " +
                std::to_string(kMaxRoles));
  }
  for (const auto& [role, name] : roles) {
    if (role == 0) throw Error("PeerRoles: role 0 ('" + name + "') is reserved");
    if (Accepts(role)) throw Error("PeerRoles: role " + std::to_string(role) + " given twice");
    roles_.emplace_back(role, name);
  }
}

bool PeerRoles::Accepts(uint8_t role) const {
  return std::any_of(roles_.begin(), roles_.end(),
                     [role](const auto& r) { return r.first == role; });
}

std::string PeerRoles::Name(const PeerId& peer) const {
  for (const auto& [role, name] : roles_) {
    if (role == peer.role) return name + " " + std::to_string(peer.rank);
  }
  return "role " + std::to_string(peer.role) + " rank " + std::to_string(peer.rank);
}

}  // namespace gw
