// The 32-bit immediate that travels with every one-sided write and says what landed.
// Layout (both backends): bits 31..12 iteration tag (iteration mod 2^20), bits 11..0 part.
// The sender is known from the connection (TCP) or the QP (RDMA), so it is not encoded.
#pragma once

#include <cstdint>

namespace gw {

struct Imm {
  static constexpr int kPartBits = 12;
  static constexpr int kIterBits = 32 - kPartBits;
  static constexpr uint32_t kMaxParts = 1u << kPartBits;
  static constexpr uint32_t kIterMask = (1u << kIterBits) - 1;
  static_assert(kPartBits + kIterBits == 32, "the immediate is exactly 32 bits");

  uint32_t iteration_tag = 0;  // iteration mod 2^kIterBits
  uint32_t part = 0;           // < kMaxParts

  static constexpr uint32_t Encode(uint64_t iteration, uint32_t part) {
    return (static_cast<uint32_t>(iteration & kIterMask) << kPartBits) | (part & (kMaxParts - 1));
  }
  static constexpr Imm Decode(uint32_t imm) { return Imm{imm >> kPartBits, imm & (kMaxParts - 1)}; }
  // True when a tag names this full iteration number (tags wrap every 2^20 iterations).
  static constexpr bool Matches(uint32_t tag, uint64_t iteration) {
    return tag == (iteration & kIterMask);
  }
};

static_assert(Imm::Decode(Imm::Encode(123456, 77)).iteration_tag == 123456);
static_assert(Imm::Decode(Imm::Encode(123456, 77)).part == 77);

}  // namespace gw
