#include "net/handshake.h"

#include <algorithm>
#include <cstring>

namespace gw {

namespace {

void PutString(std::vector<uint8_t>& out, const std::string& s) {
  const auto n = static_cast<uint16_t>(s.size());
  out.push_back(static_cast<uint8_t>(n & 0xff));
  out.push_back(static_cast<uint8_t>(n >> 8));
  out.insert(out.end(), s.begin(), s.end());
}

bool GetString(std::span<const uint8_t>& in, std::string* s) {
  if (in.size() < 2) return false;
  const size_t n = in[0] | (size_t{in[1]} << 8);
  if (n > Hello::kMaxString || in.size() < 2 + n) return false;
  s->assign(reinterpret_cast<const char*>(in.data() + 2), n);
  in = in.subspan(2 + n);
  return true;
}

}  // namespace

std::vector<uint8_t> EncodeHello(const Hello& h) {
  std::vector<uint8_t> out(8);
  std::memcpy(out.data(), &h.version, 2);
  out[2] = static_cast<uint8_t>(h.peer.role);
  out[3] = 0;
  std::memcpy(out.data() + 4, &h.peer.rank, 4);
  PutString(out, h.job_id.substr(0, Hello::kMaxString));
  PutString(out, h.token.substr(0, Hello::kMaxString));
  return out;
}

std::optional<Hello> ParseHello(std::span<const uint8_t> bytes, std::string* why) {
  Hello h;
  if (bytes.size() < 8) {
    *why = "hello shorter than 8 bytes";
    return std::nullopt;
  }
  std::memcpy(&h.version, bytes.data(), 2);
  if (h.version != Hello::kVersion) {
    *why = "protocol version " + std::to_string(h.version) + ", this build speaks " +
           std::to_string(Hello::kVersion);
    return std::nullopt;
  }
  if (bytes[3] != 0) {
    *why = "hello reserved byte is " + std::to_string(bytes[3]) + ", not 0";
    return std::nullopt;
  }
  h.peer.role = bytes[2];
  std::memcpy(&h.peer.rank, bytes.data() + 4, 4);
  auto rest = bytes.subspan(8);
  if (!GetString(rest, &h.job_id) || !GetString(rest, &h.token) || !rest.empty()) {
    *why = "malformed hello strings";
    return std::nullopt;
  }
  return h;
}

std::string CheckAdmission(const PeerId& claim, const PeerRoles& roles, const PeerId& self) {
  if (claim == self) {
    return "a peer claims to be " + roles.Name(claim) + ", this process itself";
  }
  if (roles.Accepts(claim)) return "";
  if (roles.Name(claim).starts_with("role ")) {
    return "unknown role " + std::to_string(claim.role) + " (rank " + std::to_string(claim.rank) +
           ")";
  }
  return roles.Name(claim) + " may not connect here (this process accepts " +
         roles.DescribeAccepted() + ")";
}

std::string CheckHello(const Hello& hello, const PeerRoles& roles, const PeerId& self,
                       const std::string& job_id, const std::string& token) {
  if (std::string why = CheckAdmission(hello.peer, roles, self); !why.empty()) return why;
  if (hello.job_id != job_id) {
    return "wrong job id '" + hello.job_id + "' from " + roles.Name(hello.peer) +
           " (this is job '" + job_id + "')";
  }
  unsigned char diff = hello.token.size() == token.size() ? 0 : 1;
  for (size_t i = 0; i < std::min(hello.token.size(), token.size()); ++i) {
    diff |= static_cast<unsigned char>(hello.token[i] ^ token[i]);
  }
  if (diff != 0) return "wrong token from " + roles.Name(hello.peer) + " in job '" + job_id + "'";
  return "";
}

}  // namespace gw
