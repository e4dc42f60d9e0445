#include "ps/aggregate.h"

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "base/error.h"

namespace gw {
namespace {

using Vec = Eigen::Map<Eigen::ArrayXf>;
using ConstVec = Eigen::Map<const Eigen::ArrayXf>;

// out[0, n) = s[0][off, off + n) + ... in one fused pass (1 <= count <= 4), summed left to
// right so the result is bit-identical to the sequential float sum.
void Assign(float* out, const std::span<const float>* s, size_t count, size_t off, size_t n) {
  auto at = [&](size_t i) { return ConstVec(s[i].data() + off, n); };
  Vec o(out, n);
  switch (count) {
    case 1:
      o = at(0);
      break;
    case 2:
      o = at(0) + at(1);
      break;
    case 3:
      o = at(0) + at(1) + at(2);
      break;
    default:
      o = at(0) + at(1) + at(2) + at(3);
      break;
  }
}

// out[0, n) += s[0][off, off + n) + ... (1 <= count <= 3), still left to right.
void Accumulate(float* out, const std::span<const float>* s, size_t count, size_t off, size_t n) {
  auto at = [&](size_t i) { return ConstVec(s[i].data() + off, n); };
  Vec o(out, n);
  switch (count) {
    case 1:
      o = o + at(0);
      break;
    case 2:
      o = o + at(0) + at(1);
      break;
    default:
      o = o + at(0) + at(1) + at(2);
      break;
  }
}

template <bool kCheck>
bool Sum(std::span<float> out, const std::vector<std::span<const float>>& slots) {
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].size() != out.size()) {
      throw Error("SumSlots: slot " + std::to_string(i) + " has " +
                  std::to_string(slots[i].size()) + " floats, output has " +
                  std::to_string(out.size()));
    }
  }
  if (slots.empty()) {
    Vec(out.data(), out.size()).setZero();
    return true;
  }
  // Blocked so that, with more than four slots, the partial sums of out stay in L1 between
  // passes: each input byte is read once and out is written to memory once. Measured on
  // 8-16 slots of 4-100 MiB: ~20% faster than whole-vector passes; no cost for <= 4 slots.
  constexpr size_t kBlock = 2048;  // floats: 8 KiB of out
  const size_t k = slots.size();
  bool finite = true;
  for (size_t off = 0; off < out.size(); off += kBlock) {
    const size_t n = std::min(kBlock, out.size() - off);
    float* o = out.data() + off;
    size_t i = std::min<size_t>(k, 4);
    Assign(o, slots.data(), i, off, n);
    for (; i < k; i += 3) Accumulate(o, slots.data() + i, std::min<size_t>(k - i, 3), off, n);
    // NaN and Inf propagate through a sum: the block's sums say whether any input had one.
    // An OR of integer exponent compares over a block still in L1. Measured
    // (aggregate_bench BM_FiniteCheckCost, 4 slots x 64 MiB): 8-15 % of the sum's time;
    // Eigen's allFinite() 70 %, a float reduction of x * 0 ~14 %, the check fused into the
    // block's last pass by hand no better (the loop vectorises worse than Eigen's sum).
    if constexpr (kCheck) finite = AllFinite(std::span<const float>(o, n)) && finite;
  }
  return finite;
}

}  // namespace

bool SumSlots(std::span<float> out, const std::vector<std::span<const float>>& slots) {
  return Sum<true>(out, slots);
}

void SumSlotsUnchecked(std::span<float> out, const std::vector<std::span<const float>>& slots) {
  Sum<false>(out, slots);
}

bool AllFinite(std::span<const float> v) {
  constexpr uint32_t kExponent = 0x7f800000u;  // all ones: NaN or Inf
  uint32_t bad = 0;
  for (const float x : v) {
    uint32_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    bad |= static_cast<uint32_t>((bits & kExponent) == kExponent);
  }
  return bad == 0;
}

bool PoisonsSum(std::span<const float> slot, size_t summed) {
  // One integer pass: a float's magnitude orders as its bits without the sign, and NaN and
  // Inf sit above every finite value, so the largest magnitude's bits say both.
  const float bound =
      std::numeric_limits<float>::max() / static_cast<float>(std::max<size_t>(summed, 1));
  uint32_t bound_bits;
  std::memcpy(&bound_bits, &bound, sizeof bound_bits);
  uint32_t top = 0;
  for (const float x : slot) {
    uint32_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    top = std::max(top, bits & 0x7fffffffu);
  }
  return top >= bound_bits;
}

}  // namespace gw
