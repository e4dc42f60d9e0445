// Sums per-worker gradient slots into one vector (memory-bound vector code; several slots are
// fused per pass so each byte is read once), checking the sums are finite as they are made.
#pragma once

#include <limits>
#include <span>
#include <vector>

namespace gw {

// out = sum of slots[i] (each the same length as out). slots may be empty (out = 0). Returns
// whether every sum's magnitude is below `bound` (NaN never is): false when a slot held NaN
// or Inf, or values whose sum overflows or reaches the bound. Checked in the pass that
// writes the sums: 3-4 % of the sum's time (bench/aggregate_bench.cc BM_FiniteCheckCost,
// against SumSlotsUnchecked; the target is 5 %).
bool SumSlots(std::span<float> out, const std::vector<std::span<const float>>& slots,
              float bound = std::numeric_limits<float>::infinity());
// The same sum without the check: for the benchmark that measures what the check costs.
void SumSlotsUnchecked(std::span<float> out, const std::vector<std::span<const float>>& slots);

// The bound a sum of `summed` gradients is held to: FLT_MAX / summed, so that no mean of
// them, nor their sum, overflows; an honest gradient sum is some thirty orders of magnitude
// below it. A sum that reaches it has a slot that PoisonsSum names (see there).
float SumBound(size_t summed);

// Whether every float is finite (no NaN or Inf): one vectorised integer pass over the
// magnitudes, several times cheaper than Eigen's allFinite().
bool AllFinite(std::span<const float> v);

// Whether a slot is why a sum of `summed` slots is not finite or reaches SumBound(summed):
// it holds NaN or Inf, or a value of magnitude FLT_MAX / summed^2 or more. If every slot's
// values were smaller, their sum would be below SumBound(summed): the culprit is always found.
bool PoisonsSum(std::span<const float> slot, size_t summed);

}  // namespace gw
