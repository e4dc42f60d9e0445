// Who is on the other end of a connection: a role and a rank within that role. net/ carries
// the role as one byte and gives it no meaning: the layer above names its roles (ps/roles.h)
// and tells each device which ones it accepts (DeviceOptions::roles), so a peer claiming any
// other byte is refused in the handshake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace gw {

struct PeerId {
  uint8_t role = 0;  // 0 is never a role: a zeroed identity is refused
  uint32_t rank = 0;

  bool operator==(const PeerId&) const = default;
};

// The roles a device accepts and their names for messages ("worker 3"). An accepting device
// may narrow it to the identities it expects (AcceptingOnly): a server lets in its workers
// 0..N-1 and nobody else, so no peer can claim a server's identity or a rank the job lacks.
class PeerRoles {
 public:
  // A handful of process kinds; bounds the table a peer's claimed byte is looked up in.
  static constexpr size_t kMaxRoles = 8;

  PeerRoles() = default;  // accepts nobody
  // Every rank of each role. Throws gw::Error on role 0, a repeated role or more than
  // kMaxRoles.
  PeerRoles(std::initializer_list<std::pair<uint8_t, std::string>> roles);

  // This table accepting only ranks 0..ranks-1 of `role`; the other roles keep their names
  // for messages and are refused. Throws gw::Error if `role` is not in the table.
  PeerRoles AcceptingOnly(uint8_t role, uint32_t ranks) const;

  // Whether some rank of `role` is accepted.
  bool Accepts(uint8_t role) const;
  // Whether this identity is accepted: its role, and its rank below that role's bound.
  bool Accepts(const PeerId& peer) const;
  // "worker 3"; "role 9 rank 3" for a role not in the table (a peer's claim, say).
  std::string Name(const PeerId& peer) const;
  // What is accepted, for refusals: "worker 0..7", "server, worker, tool" (any rank).
  std::string DescribeAccepted() const;

 private:
  struct Entry {
    uint8_t role;
    std::string name;
    uint64_t ranks;  // ranks below this are accepted (0: the role is named, never accepted)
  };
  static constexpr uint64_t kAnyRank = uint64_t{1} << 32;
  const Entry* Find(uint8_t role) const;

  std::vector<Entry> roles_;
};

}  // namespace gw
