// Sums per-worker gradient slots into one vector with Eigen (memory-bound; several slots are
// fused per pass so each byte is read once).
#pragma once

#include <span>
#include <vector>

namespace gw {

// out = sum of slots[i] (each the same length as out). slots may be empty (out = 0).
void SumSlots(std::span<float> out, const std::vector<std::span<const float>>& slots);

}  // namespace gw
