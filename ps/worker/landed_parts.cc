#include "ps/worker/landed_parts.h"

#include <algorithm>

namespace gw {

LandedParts::LandedParts(const ModelLayout& layout) : count_(layout.num_servers(), 0) {
  for (uint32_t s = 0; s < layout.num_servers(); ++s) at_.emplace_back(layout.parts(s).size());
}

bool LandedParts::Land(uint32_t s, uint32_t p, TimePoint at) {
  if (s >= at_.size() || p >= at_[s].size() || at_[s][p]) return false;
  at_[s][p] = at;
  ++count_[s];
  return true;
}

bool LandedParts::AllOf(std::span<const std::pair<uint32_t, uint32_t>> parts) const {
  return std::all_of(parts.begin(), parts.end(),
                     [&](const auto& sp) { return landed(sp.first, sp.second); });
}

bool LandedParts::All() const {
  for (uint32_t s = 0; s < at_.size(); ++s) {
    if (!AllOf(s)) return false;
  }
  return true;
}

void LandedParts::Clear() {
  for (auto& parts : at_) std::fill(parts.begin(), parts.end(), std::nullopt);
  std::fill(count_.begin(), count_.end(), 0);
}

}  // namespace gw
