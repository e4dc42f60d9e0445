#include "net/rdma/wire.h"

#include <cstring>

namespace gw::rdma {

size_t EncodeNotice(const WriteNotice& n, std::span<uint8_t> out) {
  for (size_t i = 0; i < n.count; ++i) {
    const HeaderBytes h = EncodeHeader(n.writes[i]);
    std::memcpy(out.data() + i * FrameHeader::kSize, h.data(), h.size());
  }
  return n.count * FrameHeader::kSize;
}

bool ParseNotice(std::span<const uint8_t> bytes, WriteNotice* out, std::string* why) {
  if (bytes.empty() || bytes.size() % FrameHeader::kSize != 0 ||
      bytes.size() > WriteNotice::kMaxBytes) {
    *why = "write notice of " + std::to_string(bytes.size()) + " bytes (want 1 to " +
           std::to_string(WriteNotice::kMaxWrites) + " headers of " +
           std::to_string(FrameHeader::kSize) + ")";
    return false;
  }
  out->count = 0;
  for (size_t off = 0; off < bytes.size(); off += FrameHeader::kSize) {
    const auto h = ParseHeader(bytes.subspan(off, FrameHeader::kSize), why);
    if (!h) return false;
    if (h->type != FrameType::kWrite) {
      *why = "write notice holds a frame of type " + std::to_string(static_cast<int>(h->type));
      return false;
    }
    out->writes[out->count++] = *h;
  }
  return true;
}

RegionHandleBytes EncodeRegionHandle(const RegionHandle& h) {
  RegionHandleBytes out;
  std::memcpy(out.data(), &h.addr, sizeof h.addr);
  std::memcpy(out.data() + sizeof h.addr, &h.rkey, sizeof h.rkey);
  return out;
}

std::optional<RegionHandle> ParseRegionHandle(std::span<const uint8_t> bytes, std::string* why) {
  if (bytes.size() != RegionHandle::kBytes) {
    *why = "a region handle of " + std::to_string(bytes.size()) + " bytes, not RDMA's " +
           std::to_string(RegionHandle::kBytes) + " (address and rkey)";
    return std::nullopt;
  }
  RegionHandle h;
  std::memcpy(&h.addr, bytes.data(), sizeof h.addr);
  std::memcpy(&h.rkey, bytes.data() + sizeof h.addr, sizeof h.rkey);
  return h;
}

namespace {
constexpr uint8_t kRejectVersion = 1;
constexpr size_t kRejectHeader = 4;
}  // namespace

std::vector<uint8_t> EncodeRejectReason(std::string_view why) {
  const std::string_view text = why.substr(0, kMaxRejectText);
  std::vector<uint8_t> out(kRejectHeader + text.size());
  const uint16_t magic = FrameHeader::kMagic;
  std::memcpy(out.data(), &magic, sizeof magic);
  out[2] = kRejectVersion;
  out[3] = static_cast<uint8_t>(text.size());
  std::memcpy(out.data() + kRejectHeader, text.data(), text.size());
  return out;
}

std::optional<std::string> ParseRejectReason(std::span<const uint8_t> bytes) {
  if (bytes.size() < kRejectHeader) return std::nullopt;
  uint16_t magic = 0;
  std::memcpy(&magic, bytes.data(), sizeof magic);
  const size_t length = bytes[3];
  if (magic != FrameHeader::kMagic || bytes[2] != kRejectVersion || length > kMaxRejectText ||
      bytes.size() < kRejectHeader + length) {
    return std::nullopt;
  }
  std::string text(reinterpret_cast<const char*>(bytes.data()) + kRejectHeader, length);
  for (char& c : text) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return text;
}

}  // namespace gw::rdma
