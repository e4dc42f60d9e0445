// One synchronisation rule's decisions, behind a small interface: when may the server apply a
// worker's gradient, and when may a worker start its next iteration? gw::SyncRule
// (ps/sync_rule.h) owns the per-worker clocks and liveness, checks that an arrival is the one
// expected, and asks the rule in force what to do; the rules live one per file in ps/sync/
// and are listed in ps/sync/registry.cc.
#pragma once

#include <cstdint>
#include <vector>

namespace gw {

// What to do after an arrival or a departure.
struct SyncDecision {
  // Workers whose gradients (for their respective iterations) are to be applied now, in
  // this order. Under BSP all of one iteration at once (aggregated); otherwise one each.
  std::vector<uint32_t> apply;
  // apply is one BSP barrier's set: sum it into one update (else one update per worker).
  bool aggregate = false;
  // Workers to send the updated parameters to now (they may start their next iteration).
  std::vector<uint32_t> release;
};

// SyncRule's per-worker bookkeeping, which every rule reads and none writes.
struct WorkerClocks {
  std::vector<uint64_t> clock;  // accepted pushes per worker
  std::vector<bool> live;

  uint32_t size() const { return static_cast<uint32_t>(clock.size()); }
  uint64_t min_live() const;  // 0 when no worker is live
};

class SyncPolicy {
 public:
  virtual ~SyncPolicy() = default;

  // Worker w is between an accepted push and its release (it has not received parameters),
  // so a further push from it is a protocol violation: SyncRule refuses it.
  virtual bool Holds(uint32_t w) const = 0;
  // w's push was accepted and is already counted in workers.clock[w].
  virtual void OnArrival(uint32_t w, const WorkerClocks& workers, SyncDecision* d) = 0;
  // w is gone (died or finished), already not live in workers: it no longer holds others back.
  virtual void OnWorkerGone(uint32_t w, const WorkerClocks& workers, SyncDecision* d) = 0;
  // Arrivals are summed into one update per iteration now.
  virtual bool aggregating() const = 0;
  // The iteration a barrier is collecting; 0 for rules without one.
  virtual uint64_t barrier_iteration() const { return 0; }
  // Before any arrival, resumes at `iteration` (SyncRule has set every clock to it), as from
  // a checkpoint taken after that many updates. false: this rule cannot resume.
  virtual bool ResumeAt(uint64_t /*iteration*/) { return false; }
};

}  // namespace gw
