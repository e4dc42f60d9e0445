// Arrival orders of an MDS-coded round whose first k results the code refuses to decode from
// (an ill-conditioned system), found by search as a round meets them: every worker order
// equally likely, as under i.i.d. straggler delays.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "coding/mds.h"

namespace gw::testing {

// At n = 50, k = 34 about 1 random k-set in 800 is refused (the measurement in coding/mds.h);
// 20000 tries miss one with probability e^-24.
inline constexpr int kIllConditionedSearchTries = 20000;

// A permutation of the n workers whose first k are refused by code.Decodable, or empty if
// none turned up within `tries` random orders drawn from `seed`.
inline std::vector<int> IllConditionedOrder(const coding::MdsCode& code, uint64_t seed,
                                            int tries = kIllConditionedSearchTries) {
  std::mt19937_64 rng(seed);
  std::vector<int> order(code.n());
  for (int t = 0; t < tries; ++t) {
    for (int i = 0; i < code.n(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    const std::vector<int> first(order.begin(), order.begin() + code.k());
    if (!code.Decodable(first)) return order;
  }
  return {};
}

}  // namespace gw::testing
