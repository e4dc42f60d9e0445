// When may the server apply a worker's gradient, and when may a worker start its next
// iteration? Pure bookkeeping, no I/O: the server feeds it arrivals and asks what to do.
// SyncRule keeps each worker's clock and liveness and refuses arrivals out of turn; the rule
// named by --sync (BSP, ASP, SSP(s), R2SP: one file each in ps/sync/, listed in
// ps/sync/registry.cc) decides what to apply and whom to release.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ps/sync/policy.h"

namespace gw {

struct SyncRuleEntry;

// The names of the built-in rules, for code that must name one (defaults, tests). A rule
// needs no constant here: --sync reaches every registered rule by its name.
struct SyncKind {
  static constexpr char kBsp[] = "bsp";
  static constexpr char kAsp[] = "asp";
  static constexpr char kSsp[] = "ssp";
  static constexpr char kR2sp[] = "r2sp";
};

struct SyncSpec {
  std::string kind = SyncKind::kBsp;  // a registered rule's name
  uint32_t staleness = 0;             // SSP's s (R2SP's bound, N, is set when it is built)
  // Parses "name" or "name:param" for a registered rule ("bsp", "asp", "ssp:3" (or "ssp" =
  // ssp:1), "r2sp"); throws gw::Error saying why and listing the rules otherwise.
  static SyncSpec Parse(const std::string& text);
  std::string ToString() const;
  // The registered rule this spec names (Parse only makes specs that name one).
  const SyncRuleEntry& rule() const;
};

class SyncRule {
 public:
  // r2sp_warmup: R2SP's BSP iterations (the write windows' warm-up); unused by other rules.
  SyncRule(SyncSpec spec, uint32_t num_workers, uint32_t r2sp_warmup = 0);
  ~SyncRule();
  SyncRule(SyncRule&&) noexcept;
  SyncRule& operator=(SyncRule&&) noexcept;

  using Decision = SyncDecision;

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
  bool aggregating() const;

  // What the rule does, for callers that would otherwise test which rule it is:
  // All live workers are released at once (BSP), so parameters can go out from the shared
  // model; else (ASP, SSP, R2SP) one at a time while others' are still on the wire, so each
  // worker's parameters go out from its own copy and an update never waits for a slow link.
  bool releases_together() const;
  // The others train on when a worker is lost: always under ASP, SSP and R2SP; under BSP
  // only with --continue-without-lost-workers (continue_without_lost), else the job ends.
  bool goes_on_without_lost_workers(bool continue_without_lost) const;

 private:
  SyncSpec spec_;
  const SyncRuleEntry* entry_;  // spec_'s rule: its capabilities and factory
  WorkerClocks workers_;
  std::unique_ptr<SyncPolicy> policy_;
};

}  // namespace gw
