// The RDMA write notice (net/rdma/wire.h ParseNotice): the SEND a peer's writes are announced
// by, received into a slot and parsed before anything it names is trusted. The same bytes as a
// connect reject's private data (ParseRejectReason): a reason is short and printable.
#include <algorithm>
#include <array>
#include <cstddef>
#include <string>

#include "net/rdma/wire.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using gw::FrameHeader;
using gw::rdma::WriteNotice;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  if (const auto reason = gw::rdma::ParseRejectReason(bytes)) {
    FUZZ_CHECK(reason->size() <= gw::rdma::kMaxRejectText);
    FUZZ_CHECK(
        std::all_of(reason->begin(), reason->end(), [](char c) { return c >= 0x20 && c <= 0x7e; }));
  }
  WriteNotice n;
  std::string why;
  if (!gw::rdma::ParseNotice(bytes, &n, &why)) {
    FUZZ_CHECK(!why.empty());
    return 0;
  }
  // Accepted: whole headers, 1..kMaxWrites, every one a write.
  FUZZ_CHECK(size % FrameHeader::kSize == 0);
  FUZZ_CHECK(n.count == size / FrameHeader::kSize);
  FUZZ_CHECK(n.count >= 1 && n.count <= WriteNotice::kMaxWrites);
  for (size_t i = 0; i < n.count; ++i) {
    FUZZ_CHECK(n.writes[i].type == gw::FrameType::kWrite);
  }
  // Nothing lost or invented: the notice re-encodes to the bytes it came from.
  std::array<uint8_t, WriteNotice::kMaxBytes> again{};
  const size_t m = gw::rdma::EncodeNotice(n, again);
  FUZZ_CHECK(m == size);
  FUZZ_CHECK(std::equal(again.begin(), again.begin() + static_cast<std::ptrdiff_t>(m), data));
  return 0;
}
