// The roles of gradwire's processes, as the byte net/ carries in every handshake (net/peer.h).
// The values are on the wire: never renumber them.
#pragma once

#include <cstdint>

#include "net/peer.h"

namespace gw {

struct Role {
  static constexpr uint8_t kServer = 1;
  static constexpr uint8_t kWorker = 2;
  static constexpr uint8_t kTool = 3;  // a probe that is neither (tests checking a device)
};

// What every gradwire device accepts, with the names its messages use.
const PeerRoles& PsRoles();

}  // namespace gw
