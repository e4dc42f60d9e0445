// Survivor sets: enumerating the k-subsets of n workers, and checking a given set.
#pragma once

#include <string>
#include <type_traits>
#include <vector>

#include "base/error.h"

namespace gw::coding {

// Calls visit(subset) for every k-subset of {0..n-1} in ascending lexicographic order; a
// visitor returning bool stops the walk by returning false. Returns false if stopped early.
template <typename Visit>
bool ForEachSubset(int n, int k, Visit visit) {
  std::vector<int> idx(k);
  for (int i = 0; i < k; ++i) idx[i] = i;
  while (true) {
    const std::vector<int>& subset = idx;
    if constexpr (std::is_same_v<decltype(visit(subset)), bool>) {
      if (!visit(subset)) return false;
    } else {
      visit(subset);
    }
    int i = k - 1;
    while (i >= 0 && idx[i] == n - k + i) --i;
    if (i < 0) return true;
    ++idx[i];
    for (int j = i + 1; j < k; ++j) idx[j] = idx[j - 1] + 1;
  }
}

// Throws gw::Error (prefixed by `what`) unless survivors holds at least min_count distinct ids
// in [0, n).
inline void CheckSurvivors(const std::vector<int>& survivors, int n, int min_count,
                           const std::string& what) {
  if (static_cast<int>(survivors.size()) < min_count) {
    throw Error(what + ": need at least " + std::to_string(min_count) + " survivors, got " +
                std::to_string(survivors.size()));
  }
  std::vector<bool> seen(n, false);
  for (int s : survivors) {
    if (s < 0 || s >= n) {
      throw Error(what + ": survivor " + std::to_string(s) + " outside [0, " + std::to_string(n) +
                  ")");
    }
    if (seen[s]) throw Error(what + ": survivor " + std::to_string(s) + " repeated");
    seen[s] = true;
  }
}

}  // namespace gw::coding
