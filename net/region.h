// Memory that one peer may write into remotely, and the descriptor that peer needs to do it.
// Register large slabs once (one region per slot array), never one region per message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "net/peer.h"

namespace gw {

// What a remote peer needs to write into a region: it travels in control messages.
// Copied onto the wire as it is, so it has no padding: the reserved words are named and zero,
// or the bytes between fields would carry whatever the sender's stack held.
struct RemoteRegion {
  uint32_t id = 0;         // region id on the owning device
  uint32_t reserved0 = 0;  // zero
  uint64_t addr = 0;       // remote virtual address (RDMA); 0 on TCP
  uint32_t key = 0;        // rkey (RDMA); 0 on TCP
  uint32_t reserved1 = 0;  // zero
  uint64_t length = 0;     // bytes
};
static_assert(std::has_unique_object_representations_v<RemoteRegion>, "no padding bytes");

class Region {
 public:
  virtual ~Region() = default;
  virtual uint32_t id() const = 0;
  virtual std::span<std::byte> bytes() = 0;
  // The only peer allowed to write here; any other peer's write is refused.
  virtual PeerId writer() const = 0;
  virtual RemoteRegion Describe() const = 0;

  template <typename T>
  std::span<T> as() {
    auto b = bytes();
    return {reinterpret_cast<T*>(b.data()), b.size() / sizeof(T)};
  }
};

}  // namespace gw
