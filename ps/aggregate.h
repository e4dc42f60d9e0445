// Sums per-worker gradient slots into one vector (memory-bound vector code; several slots are
// fused per pass so each byte is read once), checking the sums are finite as they are made.
#pragma once

#include <span>
#include <vector>

namespace gw {

// out = sum of slots[i] (each the same length as out). slots may be empty (out = 0). Returns
// whether every sum is finite: false when a slot held NaN or Inf, or finite values whose sum
// overflows. Checked in the pass that writes the sums: 3-4 % of the sum's time
// (bench/aggregate_bench.cc BM_FiniteCheckCost, against SumSlotsUnchecked; the target is 5 %).
bool SumSlots(std::span<float> out, const std::vector<std::span<const float>>& slots);
// The same sum without the check: for the benchmark that measures what the check costs.
void SumSlotsUnchecked(std::span<float> out, const std::vector<std::span<const float>>& slots);

// Whether every float is finite (no NaN or Inf): one vectorised integer pass over the
// magnitudes, several times cheaper than Eigen's allFinite().
bool AllFinite(std::span<const float> v);

// Whether a slot is why a sum of `summed` slots is not finite: it holds NaN or Inf, or a
// value so large that `summed` such values could overflow.
bool PoisonsSum(std::span<const float> slot, size_t summed);

}  // namespace gw
