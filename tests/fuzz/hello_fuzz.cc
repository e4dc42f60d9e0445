// The handshake (net/handshake.h ParseHello, CheckHello): the payload of a peer's first frame,
// read before the peer is known to belong to the job.
#include <algorithm>
#include <string>

#include "net/handshake.h"
#include "tests/fuzz/fuzz_check.h"

using gw::Hello;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto bytes = gw::fuzz::Bytes(data, size);
  std::string why;
  const auto h = gw::ParseHello(bytes, &why);
  if (!h) {
    FUZZ_CHECK(!why.empty());
    return 0;
  }
  FUZZ_CHECK(why.empty());
  FUZZ_CHECK(size <= Hello::kMaxBytes);
  FUZZ_CHECK(h->version == Hello::kVersion);
  FUZZ_CHECK(h->job_id.size() <= Hello::kMaxString && h->token.size() <= Hello::kMaxString);
  // A hello that parses is exactly what EncodeHello writes for it: no byte is ignored.
  const std::vector<uint8_t> again = gw::EncodeHello(*h);
  FUZZ_CHECK(std::equal(again.begin(), again.end(), bytes.begin(), bytes.end()));
  // The handshake policy refuses a role it was not given, whatever the job and token...
  const gw::PeerId self{1, 0};
  FUZZ_CHECK(!gw::CheckHello(*h, gw::PeerRoles{}, self, h->job_id, h->token).empty());
  if (h->peer.role == 0) return 0;  // ...and role 0 can never be given
  // ...and its own identity, whatever it accepts...
  FUZZ_CHECK(
      !gw::CheckHello(*h, gw::PeerRoles{{h->peer.role, "claimed"}}, h->peer, h->job_id, h->token)
           .empty());
  // ...accepts its own role, job and token from another identity, and refuses any other
  // token or job...
  const gw::PeerId other{h->peer.role == 1 ? uint8_t{2} : uint8_t{1}, 0};
  const gw::PeerRoles roles{{h->peer.role, "claimed"}};
  FUZZ_CHECK(gw::CheckHello(*h, roles, other, h->job_id, h->token).empty());
  FUZZ_CHECK(!gw::CheckHello(*h, roles, other, h->job_id, h->token + "x").empty());
  FUZZ_CHECK(!gw::CheckHello(*h, roles, other, h->job_id + "x", h->token).empty());
  if (!h->token.empty()) {
    FUZZ_CHECK(!gw::CheckHello(*h, roles, other, h->job_id, h->token.substr(1)).empty());
  }
  // ...and a rank at or above the bound it accepts.
  const gw::PeerRoles bounded = roles.AcceptingOnly(h->peer.role, h->peer.rank);
  FUZZ_CHECK(!gw::CheckHello(*h, bounded, other, h->job_id, h->token).empty());
  return 0;
}
