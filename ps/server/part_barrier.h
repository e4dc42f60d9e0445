// A BSP barrier taken part by part (P3, Jayarajan et al., MLSys 2019): a part of the shard is
// complete once every live worker's copy of it landed, and its update and release need not
// wait for the rest of the model. Pure bookkeeping, no I/O: the sync driver feeds it each
// part that landed once with the barrier's iteration tag, and the workers that are gone.
#pragma once

#include <cstdint>
#include <vector>

namespace gw {

class PartBarrier {
 public:
  PartBarrier(uint32_t num_workers, uint32_t num_parts);

  // Worker w's part p of this barrier landed (the caller drops repeats and other iterations).
  // True when p is now complete: it landed from `live` workers, and was not applied yet.
  bool OnLanded(uint32_t w, uint32_t p, uint32_t live);
  // Worker w is gone: its parts that were not applied no longer count (its slot is not
  // summed into them).
  void Forget(uint32_t w);

  // The workers whose copy of part p landed, in landing order (the order they are summed in).
  const std::vector<uint32_t>& from(uint32_t p) const { return from_[p]; }
  bool applied(uint32_t p) const { return applied_[p] != 0; }
  void MarkApplied(uint32_t p) { applied_[p] = 1; }
  // The parts not applied yet, in order.
  std::vector<uint32_t> Unapplied() const;
  // The barrier is over (every part applied): the next one starts empty.
  void Reset();

  uint32_t num_parts() const { return static_cast<uint32_t>(from_.size()); }

 private:
  const uint32_t num_workers_;
  std::vector<std::vector<uint32_t>> from_;  // [part] -> workers landed
  std::vector<uint8_t> applied_;             // [part]
};

}  // namespace gw
