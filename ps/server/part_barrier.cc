#include "ps/server/part_barrier.h"

#include <algorithm>

namespace gw {

PartBarrier::PartBarrier(uint32_t num_workers, uint32_t num_parts)
    : num_workers_(num_workers), from_(num_parts), applied_(num_parts, 0) {}

bool PartBarrier::OnLanded(uint32_t w, uint32_t p, uint32_t live) {
  if (p >= from_.size() || w >= num_workers_ || applied_[p]) return false;
  from_[p].push_back(w);
  return from_[p].size() >= live;
}

void PartBarrier::Forget(uint32_t w) {
  for (uint32_t p = 0; p < from_.size(); ++p) {
    if (applied_[p]) continue;
    auto& from = from_[p];
    from.erase(std::remove(from.begin(), from.end(), w), from.end());
  }
}

std::vector<uint32_t> PartBarrier::Unapplied() const {
  std::vector<uint32_t> parts;
  for (uint32_t p = 0; p < from_.size(); ++p) {
    if (!applied_[p]) parts.push_back(p);
  }
  return parts;
}

void PartBarrier::Reset() {
  for (auto& from : from_) from.clear();
  std::fill(applied_.begin(), applied_.end(), 0);
}

}  // namespace gw
