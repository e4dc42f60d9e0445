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
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gw {

enum class SyncKind { kBsp, kAsp, kSsp };

struct SyncSpec {
  SyncKind kind = SyncKind::kBsp;
  uint32_t staleness = 0;  // SSP's s
  // Parses "bsp", "asp", "ssp:3" (or "ssp" = ssp:1); throws gw::Error otherwise.
  static SyncSpec Parse(const std::string& text);
  std::string ToString() const;
};

class SyncRule {
 public:
  SyncRule(SyncSpec spec, uint32_t num_workers);

  struct Decision {
    // Workers whose gradients (for their respective iterations) are to be applied now, in
    // this order. Under BSP all of one iteration at once (aggregated); otherwise one each.
    std::vector<uint32_t> apply;
    // Workers to send the updated parameters to now (they may start their next iteration).
    std::vector<uint32_t> release;
  };

  // Worker w's gradient for iteration `iteration` (0-based, its clock) has fully landed.
  // Late (iteration < expected) or duplicate arrivals return an empty decision and set
  // *accepted = false; the caller drops them.
  Decision OnArrival(uint32_t worker, uint64_t iteration, bool* accepted);
  // Worker w is gone (died or finished all iterations): it no longer holds others back.
  Decision OnWorkerGone(uint32_t worker);

  // Number of gradients worker w has pushed that were accepted (its clock).
  uint64_t clock(uint32_t worker) const;
  uint64_t min_live_clock() const;  // 0 when no worker is live
  // The iteration BSP is collecting (all live workers' gradients for it complete it).
  uint64_t bsp_iteration() const;
  bool live(uint32_t worker) const;
  uint32_t num_live() const;
  const SyncSpec& spec() const { return spec_; }

 private:
  void CompleteBspIfReady(Decision* d);
  void ReleaseSspWaiters(Decision* d);

  SyncSpec spec_;
  uint32_t n_;
  std::vector<uint64_t> clock_;  // accepted pushes per worker
  std::vector<bool> live_;
  std::vector<bool> arrived_;  // BSP: arrived for bsp_iter_
  std::vector<bool> waiting_;  // SSP: pushed, release deferred
  uint64_t bsp_iter_ = 0;
};

}  // namespace gw
