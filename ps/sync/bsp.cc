#include "ps/sync/bsp.h"

#include <memory>

#include "ps/sync/registry.h"

namespace gw {

void BspPolicy::OnArrival(uint32_t w, const WorkerClocks& workers, SyncDecision* d) {
  arrived_[w] = true;
  CompleteIfReady(workers, d);
}

void BspPolicy::OnWorkerGone(uint32_t /*w*/, const WorkerClocks& workers, SyncDecision* d) {
  CompleteIfReady(workers, d);
}

bool BspPolicy::ResumeAt(uint64_t iteration) {
  iteration_ = iteration;
  return true;
}

// Completes iteration_ once something arrived for it and every live worker has. Gradients of
// workers that arrived and then died are still applied (they were accepted).
void BspPolicy::CompleteIfReady(const WorkerClocks& workers, SyncDecision* d) {
  bool any = false;
  for (uint32_t w = 0; w < workers.size(); ++w) {
    if (workers.live[w] && !arrived_[w]) return;
    any = any || arrived_[w];
  }
  if (!any) return;
  d->aggregate = true;
  for (uint32_t w = 0; w < workers.size(); ++w) {
    if (arrived_[w]) d->apply.push_back(w);
    if (workers.live[w]) d->release.push_back(w);
    arrived_[w] = false;
  }
  ++iteration_;
}

extern const SyncRuleEntry kBspRule = {
    .name = "bsp",
    .syntax = "bsp",
    .help = "bulk synchronous: one update per iteration from every worker's gradient",
    .releases_together = true,
    .needs_every_worker = true,
    .takes_turns = false,
    .parse = nullptr,
    .to_string = nullptr,
    .make = [](const SyncSpec&, const SyncSetup& setup) -> std::unique_ptr<SyncPolicy> {
      return std::make_unique<BspPolicy>(setup.num_workers);
    },
};

}  // namespace gw
