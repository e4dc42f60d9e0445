// SSP(s): each arrival is applied at once; worker w, having pushed c gradients, receives
// parameters (i.e. may start iteration c) only while c - min_clock <= s, where min_clock is
// the smallest push count over live workers. Deferred releases are handed out as the slowest
// worker catches up. Declared here because R2SP runs it after its warm-up.
#pragma once

#include "ps/sync/policy.h"

namespace gw {

class SspPolicy final : public SyncPolicy {
 public:
  SspPolicy(uint32_t num_workers, uint64_t staleness)
      : waiting_(num_workers, false), staleness_(staleness) {}

  bool Holds(uint32_t w) const override { return waiting_[w]; }
  void OnArrival(uint32_t w, const WorkerClocks& workers, SyncDecision* d) override;
  void OnWorkerGone(uint32_t w, const WorkerClocks& workers, SyncDecision* d) override;
  bool aggregating() const override { return false; }

 private:
  void ReleaseWaiters(const WorkerClocks& workers, SyncDecision* d);

  std::vector<bool> waiting_;  // pushed, release deferred
  uint64_t staleness_;
};

}  // namespace gw
