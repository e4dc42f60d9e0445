// The RDMA backend's wire format beyond the frame both backends share (net/frame.h).
//
// A write notice is the SEND that follows one or more RDMA writes on the same QP and names
// them: 1..kMaxWrites frame headers of type kWrite back to back (region, offset, length,
// immediate each). RC delivers it after every payload posted before it, so when its receive
// completes, each named write has landed. Writes that were queued together share one notice:
// one packet, one receive and one receiver wake-up for the lot instead of one per write.
// A region handle is what RDMA puts in a RemoteRegion's opaque handle (net/region.h): the
// address and rkey a peer's RDMA writes into that region target.
// Pure encode/parse over bytes: nothing trusted without a bound.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "net/frame.h"
#include "net/region.h"

namespace gw::rdma {

struct WriteNotice {
  static constexpr size_t kMaxWrites = 16;
  static constexpr size_t kMaxBytes = kMaxWrites * FrameHeader::kSize;

  std::array<FrameHeader, kMaxWrites> writes{};
  size_t count = 0;
};

// Writes the notice's headers to out (at least count * 32 bytes); returns the bytes written.
size_t EncodeNotice(const WriteNotice& n, std::span<uint8_t> out);
// Parses a received notice: a whole number (1..kMaxWrites) of valid kWrite headers. Bounds of
// each write against its region are the connection's to check. False with *why on failure.
bool ParseNotice(std::span<const uint8_t> bytes, WriteNotice* out, std::string* why);

struct RegionHandle {
  static constexpr size_t kBytes = 12;  // address, then rkey, little-endian

  uint64_t addr = 0;  // the region's virtual address in its owner's process
  uint32_t rkey = 0;  // 0 for memory no peer may write (sources of writes)
};
static_assert(RegionHandle::kBytes <= RemoteRegion::kMaxHandleBytes);

using RegionHandleBytes = std::array<uint8_t, RegionHandle::kBytes>;

RegionHandleBytes EncodeRegionHandle(const RegionHandle& h);
// Parses a descriptor's handle; one of another size (another backend's) gives nullopt and *why.
std::optional<RegionHandle> ParseRegionHandle(std::span<const uint8_t> bytes, std::string* why);

}  // namespace gw::rdma
