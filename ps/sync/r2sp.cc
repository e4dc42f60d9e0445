// R2SP (Chen, Wang, Li, INFOCOM 2019): BSP for the first `warmup` iterations (while the write
// windows measure T_iter), then each arrival is applied at once, as the round-robin windows
// (sched/) let it in, and its sender released; staleness is bounded by N (SSP with s = N),
// which turns never reach unless a worker misses whole rings. The turns themselves are the
// windows' business, not this rule's.
#include <memory>

#include "ps/sync/bsp.h"
#include "ps/sync/registry.h"
#include "ps/sync/ssp.h"

namespace gw {
namespace {

class R2spPolicy final : public SyncPolicy {
 public:
  explicit R2spPolicy(const SyncSetup& setup)
      : bsp_(setup.num_workers),
        ssp_(setup.num_workers, /*staleness=*/setup.num_workers),
        warmup_(setup.warmup) {}

  bool Holds(uint32_t w) const override { return bsp_.Holds(w) || ssp_.Holds(w); }
  void OnArrival(uint32_t w, const WorkerClocks& workers, SyncDecision* d) override {
    Phase().OnArrival(w, workers, d);
  }
  // The phase is read again: a departure that completes the last warm-up barrier is then
  // also seen by the SSP phase that follows it.
  void OnWorkerGone(uint32_t w, const WorkerClocks& workers, SyncDecision* d) override {
    if (warming_up()) bsp_.OnWorkerGone(w, workers, d);
    if (!warming_up()) ssp_.OnWorkerGone(w, workers, d);
  }
  bool aggregating() const override { return warming_up(); }
  uint64_t barrier_iteration() const override { return bsp_.barrier_iteration(); }

 private:
  bool warming_up() const { return bsp_.barrier_iteration() < warmup_; }
  SyncPolicy& Phase() {
    if (warming_up()) return bsp_;
    return ssp_;
  }

  BspPolicy bsp_;
  SspPolicy ssp_;
  uint64_t warmup_;
};

}  // namespace

extern const SyncRuleEntry kR2spRule = {
    .name = "r2sp",
    .syntax = "r2sp",
    .help = "BSP warm-up, then each update in its round-robin turn (see --windows)",
    .releases_together = false,
    .needs_every_worker = false,
    .takes_turns = true,
    .parse = nullptr,
    .to_string = nullptr,
    .make = [](const SyncSpec&, const SyncSetup& setup) -> std::unique_ptr<SyncPolicy> {
      return std::make_unique<R2spPolicy>(setup);
    },
};

}  // namespace gw
