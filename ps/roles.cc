#include "ps/roles.h"

namespace gw {

const PeerRoles& PsRoles() {
  static const PeerRoles roles{
      {Role::kServer, "server"}, {Role::kWorker, "worker"}, {Role::kTool, "tool"}};
  return roles;
}

}  // namespace gw
