#include "net/frame.h"

#include <cstring>

#include "net/device.h"
#include "net/handshake.h"

namespace gw {

HeaderBytes EncodeHeader(const FrameHeader& h) {
  HeaderBytes out;
  std::memcpy(out.data(), &h, sizeof h);
  return out;
}

uint64_t MaxPayload(FrameType type) {
  switch (type) {
    case FrameType::kHello:
    case FrameType::kHelloAccept:
      return Hello::kMaxBytes;
    case FrameType::kHelloReject:
      return 1024;
    case FrameType::kControl:
      return Connection::kMaxControlBytes;
    case FrameType::kBye:
      return 0;
    case FrameType::kWrite:
      return UINT64_MAX;  // bounded by the target region
  }
  return 0;
}

std::optional<FrameHeader> ParseHeader(std::span<const uint8_t> bytes, std::string* why) {
  if (bytes.size() != FrameHeader::kSize) {
    *why = "frame header must be 32 bytes";
    return std::nullopt;
  }
  FrameHeader h;
  std::memcpy(&h, bytes.data(), sizeof h);
  if (h.magic != FrameHeader::kMagic) {
    *why = "bad magic (not a gradwire peer)";
    return std::nullopt;
  }
  const auto t = static_cast<uint8_t>(h.type);
  if (t < static_cast<uint8_t>(FrameType::kHello) || t > static_cast<uint8_t>(FrameType::kBye)) {
    *why = "unknown frame type " + std::to_string(t);
    return std::nullopt;
  }
  if (h.type == FrameType::kControl && h.imm > UINT16_MAX) {
    *why = "control frame of type " + std::to_string(h.imm) + ", more than 16 bits";
    return std::nullopt;
  }
  if (h.length > MaxPayload(h.type)) {
    *why = "frame of type " + std::to_string(t) + " announces " + std::to_string(h.length) +
           " payload bytes, more than its limit " + std::to_string(MaxPayload(h.type));
    return std::nullopt;
  }
  return h;
}

}  // namespace gw
