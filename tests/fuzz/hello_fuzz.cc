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
  FUZZ_CHECK(!gw::CheckHello(*h, gw::PeerRoles{}, h->job_id, h->token).empty());
  if (h->peer.role == 0) return 0;  // ...and role 0 can never be given
  // ...accepts its own role, job and token, and refuses any other token or job.
  const gw::PeerRoles roles{{h->peer.role, "claimed"}};
  FUZZ_CHECK(gw::CheckHello(*h, roles, h->job_id, h->token).empty());
  FUZZ_CHECK(!gw::CheckHello(*h, roles, h->job_id, h->token + "x").empty());
  FUZZ_CHECK(!gw::CheckHello(*h, roles, h->job_id + "x", h->token).empty());
  if (!h->token.empty()) {
    FUZZ_CHECK(!gw::CheckHello(*h, roles, h->job_id, h->token.substr(1)).empty());
  }
  return 0;
}
