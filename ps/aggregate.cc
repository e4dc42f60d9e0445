#include "ps/aggregate.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "base/error.h"

namespace gw {
namespace {

// Eight floats (and their bits) as GCC vector types: one AVX register where the target has
// AVX, two SSE registers where not; the compiler emits the loads, adds and max as written.
using Floats = float __attribute__((vector_size(32)));
using Bits = uint32_t __attribute__((vector_size(32)));
static constexpr size_t kLanes = sizeof(Floats) / sizeof(float);
static_assert(kLanes == 8);

// A float's magnitude orders as its bits without the sign, and NaN and Inf sit above every
// finite value: the largest of these bits over a vector says both "non-finite" and "how big".
static constexpr uint32_t kMagnitude = 0x7fffffffu;
static constexpr uint32_t kInfinityBits = 0x7f800000u;

Floats Load(const float* p) {
  Floats v;
  std::memcpy(&v, p, sizeof v);  // unaligned load: slots start wherever a region put them
  return v;
}

uint32_t BitsOf(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

uint32_t MagnitudeBits(float x) { return BitsOf(x) & kMagnitude; }

// The largest lane of a vector of magnitude bits.
uint32_t Largest(const Bits& top) {
  uint32_t largest = 0;
  for (size_t lane = 0; lane < kLanes; ++lane) largest = std::max(largest, top[lane]);
  return largest;
}

// One pass over out[0, n): out = s[0] + ... + s[C-1] (kAccumulate: out += ...), left to
// right so the result is bit-identical to the sequential float sum. Returns the largest
// magnitude bits written. The max rides along with the adds: the pass is memory-bound, so
// it is free there, where a separate pass over the block (even in L1) let the memory
// pipeline idle for 8-15 % of the sum's time (aggregate_bench BM_FiniteCheckCost).
// kCheck false leaves the max out (returns 0): SumSlotsUnchecked, for the benchmark.
template <int C, bool kAccumulate, bool kCheck>
uint32_t Pass(float* __restrict out, const std::span<const float>* s, size_t off, size_t n) {
  static_assert(C >= 1 && C <= 4);
  const float* in[C];
  for (int c = 0; c < C; ++c) in[c] = s[c].data() + off;
  Bits top = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    Floats v = kAccumulate ? Load(out + i) + Load(in[0] + i) : Load(in[0] + i);
    for (int c = 1; c < C; ++c) v = v + Load(in[c] + i);
    std::memcpy(out + i, &v, sizeof v);
    if constexpr (kCheck) {
      const Bits b = reinterpret_cast<Bits>(v) & kMagnitude;
      top = b > top ? b : top;
    }
  }
  uint32_t largest = Largest(top);
  for (; i < n; ++i) {
    float v = kAccumulate ? out[i] + in[0][i] : in[0][i];
    for (int c = 1; c < C; ++c) v += in[c][i];
    out[i] = v;
    if constexpr (kCheck) largest = std::max(largest, MagnitudeBits(v));
  }
  return largest;
}

// out[0, n) = (kAccumulate: out +) s[0][off, off + n) + ... for 1 <= count <= 4.
template <bool kAccumulate, bool kCheck>
uint32_t Pass(float* out, const std::span<const float>* s, size_t count, size_t off, size_t n) {
  switch (count) {
    case 1:
      return Pass<1, kAccumulate, kCheck>(out, s, off, n);
    case 2:
      return Pass<2, kAccumulate, kCheck>(out, s, off, n);
    case 3:
      return Pass<3, kAccumulate, kCheck>(out, s, off, n);
    default:
      return Pass<4, kAccumulate, kCheck>(out, s, off, n);
  }
}

uint32_t LargestMagnitudeBits(std::span<const float> v) {
  Bits top = {};
  size_t i = 0;
  for (; i + kLanes <= v.size(); i += kLanes) {
    const Bits b = reinterpret_cast<Bits>(Load(v.data() + i)) & kMagnitude;
    top = b > top ? b : top;
  }
  uint32_t largest = Largest(top);
  for (; i < v.size(); ++i) largest = std::max(largest, MagnitudeBits(v[i]));
  return largest;
}

template <bool kCheck>
bool Sum(std::span<float> out, const std::vector<std::span<const float>>& slots, float bound) {
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].size() != out.size()) {
      throw Error("SumSlots: slot " + std::to_string(i) + " has " +
                  std::to_string(slots[i].size()) + " floats, output has " +
                  std::to_string(out.size()));
    }
  }
  if (slots.empty()) {
    std::fill(out.begin(), out.end(), 0.0f);
    return true;
  }
  // Blocked so that, with more than four slots, the partial sums of out stay in L1 between
  // passes: each input byte is read once and out is written to memory once. Measured on
  // 8-16 slots of 4-100 MiB: ~20% faster than whole-vector passes; no cost for <= 4 slots.
  constexpr size_t kBlock = 2048;  // floats: 8 KiB of out
  static_assert(kBlock % kLanes == 0);
  const size_t k = slots.size();
  uint32_t largest = 0;
  for (size_t off = 0; off < out.size(); off += kBlock) {
    const size_t n = std::min(kBlock, out.size() - off);
    float* o = out.data() + off;
    // NaN and Inf propagate through a sum, overflow ends in Inf: the last pass's sums say
    // whether the block is finite and below the bound, so only that pass checks.
    size_t i = std::min<size_t>(k, 4);
    if (i == k) {
      largest = std::max(largest, Pass<false, kCheck>(o, slots.data(), i, off, n));
      continue;
    }
    Pass<false, false>(o, slots.data(), i, off, n);
    for (; i + 3 < k; i += 3) Pass<true, false>(o, slots.data() + i, 3, off, n);
    largest = std::max(largest, Pass<true, kCheck>(o, slots.data() + i, k - i, off, n));
  }
  return largest < (BitsOf(std::abs(bound)) & kMagnitude);
}

}  // namespace

bool SumSlots(std::span<float> out, const std::vector<std::span<const float>>& slots, float bound) {
  return Sum<true>(out, slots, bound);
}

void SumSlotsUnchecked(std::span<float> out, const std::vector<std::span<const float>>& slots) {
  Sum<false>(out, slots, std::numeric_limits<float>::infinity());
}

float SumBound(size_t summed) {
  return std::numeric_limits<float>::max() / static_cast<float>(std::max<size_t>(summed, 1));
}

bool AllFinite(std::span<const float> v) { return LargestMagnitudeBits(v) < kInfinityBits; }

bool PoisonsSum(std::span<const float> slot, size_t summed) {
  const float bound = SumBound(summed) / static_cast<float>(std::max<size_t>(summed, 1));
  return LargestMagnitudeBits(slot) >= BitsOf(bound);
}

}  // namespace gw
