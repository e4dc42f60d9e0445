// BSP: the update for iteration t is applied once all live workers' gradients for t arrived
// (summed, averaged); then every worker gets the new parameters. Declared here because R2SP
// runs it during its warm-up.
#pragma once

#include "ps/sync/policy.h"

namespace gw {

class BspPolicy final : public SyncPolicy {
 public:
  explicit BspPolicy(uint32_t num_workers) : arrived_(num_workers, false) {}

  bool Holds(uint32_t w) const override { return arrived_[w]; }
  void OnArrival(uint32_t w, const WorkerClocks& workers, SyncDecision* d) override;
  void OnWorkerGone(uint32_t w, const WorkerClocks& workers, SyncDecision* d) override;
  bool aggregating() const override { return true; }
  uint64_t barrier_iteration() const override { return iteration_; }
  bool ResumeAt(uint64_t iteration) override;

 private:
  void CompleteIfReady(const WorkerClocks& workers, SyncDecision* d);

  std::vector<bool> arrived_;  // arrived for iteration_
  uint64_t iteration_ = 0;     // the barrier being collected
};

}  // namespace gw
