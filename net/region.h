// Memory that one peer may write into remotely, and the descriptor that peer needs to do it.
// Register large slabs once (one region per slot array), never one region per message.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "net/peer.h"

namespace gw {

// What a remote peer needs to write into a region. It travels in control messages
// (ps/messages.h), so its encoded size is the same for every backend: the region's id and
// length, which every backend uses, and a handle of at most kMaxHandleBytes that only the
// backend that made it reads (RDMA: address and rkey, net/rdma/wire.h; TCP: none, its receiver
// finds the region by id). A backend with longer keys or several addresses (libfabric, UCX,
// shared memory) fits its handle in the bound without a change to any message above net/, as
// NCCL's net plugins do with their handles of a declared maximum size.
// Copied onto the wire as it is, so it has no padding, and every byte has one meaning: the
// reserved bytes and the handle's unused tail are zero (WellFormed() holds).
struct RemoteRegion {
  static constexpr size_t kMaxHandleBytes = 40;
  static constexpr size_t kEncodedBytes = 56;

  uint32_t id = 0;                                // region id on the owning device
  uint8_t handle_size = 0;                        // bytes of handle in use
  std::array<uint8_t, 3> reserved{};              // zero
  uint64_t length = 0;                            // bytes
  std::array<uint8_t, kMaxHandleBytes> handle{};  // read only by the backend that made it

  // A backend's handle: its size is checked when the backend is compiled.
  template <size_t N>
  void SetHandle(const std::array<uint8_t, N>& bytes) {
    static_assert(N <= kMaxHandleBytes, "a backend's handle fits the descriptor");
    handle_size = static_cast<uint8_t>(N);
    std::copy(bytes.begin(), bytes.end(), handle.begin());
    std::fill(handle.begin() + N, handle.end(), 0);
  }
  std::span<const uint8_t> handle_bytes() const {
    return {handle.data(), std::min<size_t>(handle_size, kMaxHandleBytes)};
  }
  // What a decoder of a peer's bytes must check beyond their count.
  bool WellFormed() const {
    if (handle_size > kMaxHandleBytes) return false;
    const auto zero = [](uint8_t b) { return b == 0; };
    return std::ranges::all_of(reserved, zero) &&
           std::all_of(handle.begin() + handle_size, handle.end(), zero);
  }
};
static_assert(sizeof(RemoteRegion) == RemoteRegion::kEncodedBytes, "the descriptor's wire size");
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
