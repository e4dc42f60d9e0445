// The frame both backends speak: every message starts with a fixed 32-byte header. Over TCP a
// write's payload follows it and is put by the receiver into the target region once checked;
// over RDMA the headers of landed writes travel in a write notice (net/rdma/wire.h), and
// control and handshake frames (net/handshake.h) are SENDs of header plus payload.
// Pure encode/parse functions over bytes: no I/O, nothing trusted without a bound.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace gw {

static_assert(std::endian::native == std::endian::little,
              "the wire format is little-endian and copied as-is");

enum class FrameType : uint8_t {
  kHello = 1,        // initiator -> acceptor: who I am (payload: Hello)
  kHelloAccept = 2,  // acceptor -> initiator: accepted (payload: the acceptor's Hello)
  kHelloReject = 3,  // acceptor -> initiator: refused (payload: reason text)
  kWrite = 4,        // one-sided write: payload lands in region at offset
  kControl = 5,      // small typed control message (imm = type)
  kBye = 6,          // orderly close
};

struct FrameHeader {
  static constexpr uint16_t kMagic = 0x5747;  // "GW"
  static constexpr size_t kSize = 32;

  uint16_t magic = kMagic;
  FrameType type = FrameType::kWrite;
  uint8_t flags = 0;
  uint32_t imm = 0;     // kWrite: the immediate; kControl: the control type
  uint32_t region = 0;  // kWrite: target region id
  uint32_t reserved = 0;
  uint64_t offset = 0;  // kWrite: byte offset in the region
  uint64_t length = 0;  // payload bytes that follow
};
static_assert(sizeof(FrameHeader) == FrameHeader::kSize, "header is packed to 32 bytes");

using HeaderBytes = std::array<uint8_t, FrameHeader::kSize>;

HeaderBytes EncodeHeader(const FrameHeader& h);
// Parses and checks magic, type, a control frame's 16-bit type and the payload bound of
// non-write frames (a write's bound is the target region's, checked by the connection). On
// failure returns nullopt and sets *why.
std::optional<FrameHeader> ParseHeader(std::span<const uint8_t> bytes, std::string* why);

// Payload bound of each non-write frame type.
uint64_t MaxPayload(FrameType type);

}  // namespace gw
