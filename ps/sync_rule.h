// When may the server apply a worker's gradient, and when may a worker start its next
// iteration? Pure bookkeeping, no I/O: the server feeds it arrivals and asks what to do.
//
//   BSP     the update for iteration t is applied once all live workers' gradients for t
//           arrived (summed, averaged); then every worker gets the new parameters.
//   ASP     each arrival is applied at once; the sender gets the new parameters at once.
//   SSP(s)  each arrival is applied at once; worker w, having pushed c gradients, receives
//           parameters (i.e. may start iteration c) only while c - min_clock <= s, where
//           min_clock is the smallest push count over live workers. Deferred releases are
//           handed out as the slowest worker catches up.
//   R2SP    (Chen, Wang, Li, INFOCOM 2019) BSP for the first `warmup` iterations (while the
//           write windows measure T_iter), then each arrival is applied at once, as the
//           round-robin windows (sched/) let it in, and its sender released; staleness is
//           bounded by N (SSP with s = N), which turns never reach unless a worker misses
//           whole rings. The turns themselves are the windows' business, not this rule's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gw {

enum class SyncKind { kBsp, kAsp, kSsp, kR2sp };

struct SyncSpec {
  SyncKind kind = SyncKind::kBsp;
  uint32_t staleness = 0;  // SSP's s (R2SP: set to N by SyncRule)
  // Parses "bsp", "asp", "ssp:3" (or "ssp" = ssp:1), "r2sp"; throws gw::Error otherwise.
  static SyncSpec Parse(const std::string& text);
  std::string ToString() const;
};

class SyncRule {
 public:
  // r2sp_warmup: R2SP's BSP iterations (the write windows' warm-up); unused by other rules.
  SyncRule(SyncSpec spec, uint32_t num_workers, uint32_t r2sp_warmup = 0);

  struct Decision {
    // Workers whose gradients (for their respective iterations) are to be applied now, in
    // this order. Under BSP all of one iteration at once (aggregated); otherwise one each.
    std::vector<uint32_t> apply;
    // apply is one BSP barrier's set: sum it into one update (else one update per worker).
    bool aggregate = false;
    // Workers to send the updated parameters to now (they may start their next iteration).
    std::vector<uint32_t> release;
  };

  // Worker w's gradient for iteration `iteration` (0-based, its clock) has fully landed.
  // Late (iteration < expected) or duplicate arrivals return an empty decision and set
  // *accepted = false; the caller drops them.
  Decision OnArrival(uint32_t worker, uint64_t iteration, bool* accepted);
  // Worker w is gone (died or finished all iterations): it no longer holds others back.
  Decision OnWorkerGone(uint32_t worker);

  // BSP only, before any arrival: every worker's clock (and the barrier) starts at
  // `iteration`, as when resuming from a checkpoint taken after that many updates. Throws
  // gw::Error under another rule.
  void ResumeBspAt(uint64_t iteration);

  // Number of gradients worker w has pushed that were accepted (its clock).
  uint64_t clock(uint32_t worker) const;
  uint64_t min_live_clock() const;  // 0 when no worker is live
  // The iteration BSP is collecting (all live workers' gradients for it complete it).
  uint64_t bsp_iteration() const;

  bool live(uint32_t worker) const;
  uint32_t num_live() const;
  const SyncSpec& spec() const { return spec_; }
  // Arrivals are summed into one update per iteration now (BSP, R2SP's warm-up).
  bool aggregating() const { return Phase() == SyncKind::kBsp; }

 private:
  void CompleteBspIfReady(Decision* d);
  void ReleaseSspWaiters(Decision* d);
  // The rule in force now: R2SP is BSP during its warm-up, then SSP(N).
  SyncKind Phase() const;

  SyncSpec spec_;
  uint32_t n_;
  std::vector<uint64_t> clock_;  // accepted pushes per worker
  std::vector<bool> live_;
  std::vector<bool> arrived_;  // BSP: arrived for bsp_iter_
  std::vector<bool> waiting_;  // SSP: pushed, release deferred
  uint64_t bsp_iter_ = 0;
  uint32_t r2sp_warmup_ = 0;
};

}  // namespace gw
