// Who is on the other end of a connection: a role and a rank within that role.
#pragma once

#include <cstdint>
#include <string>

namespace gw {

enum class Role : uint8_t { kServer = 1, kWorker = 2, kTool = 3 };

struct PeerId {
  Role role = Role::kWorker;
  uint32_t rank = 0;

  bool operator==(const PeerId&) const = default;
};

inline const char* RoleName(Role r) {
  switch (r) {
    case Role::kServer:
      return "server";
    case Role::kWorker:
      return "worker";
    case Role::kTool:
      return "tool";
  }
  return "unknown";
}

inline std::string ToString(const PeerId& p) {
  return std::string(RoleName(p.role)) + " " + std::to_string(p.rank);
}

}  // namespace gw
