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
    if (Find(role) != nullptr) {
      throw Error("PeerRoles: role " + std::to_string(role) + " given twice");
    }
    roles_.push_back({role, name, kAnyRank});
  }
}

PeerRoles PeerRoles::AcceptingOnly(uint8_t role, uint32_t ranks) const {
  if (Find(role) == nullptr) {
    throw Error("PeerRoles: cannot accept role " + std::to_string(role) + ": not in the table");
  }
  PeerRoles narrowed = *this;
  for (Entry& e : narrowed.roles_) e.ranks = e.role == role ? ranks : 0;
  return narrowed;
}

const PeerRoles::Entry* PeerRoles::Find(uint8_t role) const {
  const auto it =
      std::find_if(roles_.begin(), roles_.end(), [role](const Entry& e) { return e.role == role; });
  return it == roles_.end() ? nullptr : &*it;
}

bool PeerRoles::Accepts(uint8_t role) const {
  const Entry* e = Find(role);
  return e != nullptr && e->ranks > 0;
}

bool PeerRoles::Accepts(const PeerId& peer) const {
  const Entry* e = Find(peer.role);
  return e != nullptr && peer.rank < e->ranks;
}

std::string PeerRoles::Name(const PeerId& peer) const {
  if (const Entry* e = Find(peer.role)) return e->name + " " + std::to_string(peer.rank);
  return "role " + std::to_string(peer.role) + " rank " + std::to_string(peer.rank);
}

std::string PeerRoles::DescribeAccepted() const {
  std::string out;
  for (const Entry& e : roles_) {
    if (e.ranks == 0) continue;
    if (!out.empty()) out += ", ";
    out += e.name;
    if (e.ranks != kAnyRank) out += " 0.." + std::to_string(e.ranks - 1);
  }
  return out.empty() ? "nobody" : out;
}

}  // namespace gw
