// The frame header (net/frame.h ParseHeader), the first bytes read from any peer. The
// input is parsed as it is (any size but 32 must be refused) and as its first 32 bytes, zero
// padded, so the fuzzer spends its time on the header's fields.
#include <algorithm>
#include <cstring>
#include <string>

#include "net/frame.h"
#include "ps/imm.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using gw::FrameHeader;
using gw::FrameType;

void CheckOne(std::span<const uint8_t> bytes) {
  std::string why;
  const auto h = gw::ParseHeader(bytes, &why);
  if (!h) {
    FUZZ_CHECK(!why.empty());
    return;
  }
  FUZZ_CHECK(why.empty());
  FUZZ_CHECK(bytes.size() == FrameHeader::kSize);
  FUZZ_CHECK(h->magic == FrameHeader::kMagic);
  const auto t = static_cast<uint8_t>(h->type);
  FUZZ_CHECK(t >= static_cast<uint8_t>(FrameType::kHello) &&
             t <= static_cast<uint8_t>(FrameType::kBye));
  FUZZ_CHECK(h->length <= gw::MaxPayload(h->type));
  // The connection hands a control frame's imm on as a 16-bit type: no bits may be dropped.
  if (h->type == FrameType::kControl) FUZZ_CHECK(h->imm <= UINT16_MAX);
  // Nothing is lost or invented: the header re-encodes to the bytes it came from.
  const gw::HeaderBytes again = gw::EncodeHeader(*h);
  FUZZ_CHECK(std::equal(again.begin(), again.end(), bytes.begin(), bytes.end()));
  // A write's immediate splits into an iteration tag and a part and joins back losslessly.
  const gw::Imm imm = gw::Imm::Decode(h->imm);
  FUZZ_CHECK(imm.part < gw::Imm::kMaxParts);
  FUZZ_CHECK(gw::Imm::Encode(imm.iteration_tag, imm.part) == h->imm);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckOne({data, size});
  gw::HeaderBytes padded{};
  std::memcpy(padded.data(), data, std::min(size, padded.size()));
  CheckOne(padded);
  return 0;
}
