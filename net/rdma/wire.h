// The RDMA backend's wire format beyond the frame both backends share (net/frame.h).
//
// A write notice is the SEND that follows one or more RDMA writes on the same QP and names
// them: 1..kMaxWrites frame headers of type kWrite back to back (region, offset, length,
// immediate each). RC delivers it after every payload posted before it, so when its receive
// completes, each named write has landed. Writes that were queued together share one notice:
// one packet, one receive and one receiver wake-up for the lot instead of one per write.
// A region handle is what RDMA puts in a RemoteRegion's opaque handle (net/region.h): the
// address and rkey a peer's RDMA writes into that region target.
// A refused connect request carries its reason in the reject's private data, so the caller
// stops at once saying why (as TCP's handshake reject does) instead of retrying to its
// deadline: magic (2 bytes), version (1), text length (1), text.
// Pure encode/parse over bytes: nothing trusted without a bound.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

// The reason's text is cut to this: with the 4 header bytes it fits the private data of an
// InfiniBand CM reject (148 bytes) with room to spare.
inline constexpr size_t kMaxRejectText = 96;
static_assert(4 + kMaxRejectText <= 148, "IB CM REJ private data");

std::vector<uint8_t> EncodeRejectReason(std::string_view why);
// The reason in a reject's private data (which the CM may pad with zeros), every byte outside
// printable ASCII replaced by '?' (a peer's bytes reach our log); nullopt if it holds no
// gradwire reason (no listener on the port, another program's reject).
std::optional<std::string> ParseRejectReason(std::span<const uint8_t> bytes);

}  // namespace gw::rdma
