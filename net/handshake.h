// The handshake both backends run before anything else: each side's first frame (kHello,
// answered by kHelloAccept or kHelloReject; net/frame.h) carries a Hello saying who it is,
// which job it belongs to and the job's token.
// Pure encode/parse functions over bytes: no I/O, nothing trusted without a bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/peer.h"

namespace gw {

struct Hello {
  static constexpr uint16_t kVersion = 1;
  static constexpr size_t kMaxString = 128;
  static constexpr size_t kMaxBytes = 8 + 2 * (2 + kMaxString);

  uint16_t version = kVersion;
  PeerId peer;
  std::string job_id;
  std::string token;
};

std::vector<uint8_t> EncodeHello(const Hello& h);
// The role byte is taken as it is: which roles exist is CheckHello's question.
std::optional<Hello> ParseHello(std::span<const uint8_t> bytes, std::string* why);
// Whether an accepting device lets in a peer claiming `claim`: a role it does not know, a
// role or rank it does not accept (PeerRoles::AcceptingOnly), or its own identity (which
// would reach the memory it registered for itself) is refused. Returns why, or "" to accept.
// Both backends ask it before anything of theirs is reachable (RDMA: before the queue pair).
std::string CheckAdmission(const PeerId& claim, const PeerRoles& roles, const PeerId& self);
// The handshake policy of every backend: CheckAdmission, then a peer of another job or with
// another token (compared in constant time) is refused. Returns why, or "" to accept.
std::string CheckHello(const Hello& hello, const PeerRoles& roles, const PeerId& self,
                       const std::string& job_id, const std::string& token);

}  // namespace gw
