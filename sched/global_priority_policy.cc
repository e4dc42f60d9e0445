// global-priority: the link goes to the most urgent push across all workers (issue 16: "the
// server grants the link to the highest-priority pending partition across all workers"). P3
// and ByteScheduler order one worker's own tensors; this orders every worker's requests
// against each other, so the front layers of every worker reach the server before anybody's
// back layers.
//
// One window at a time: when nobody holds one, the waiting request with the lowest priority
// value (WindowWorker::priority, the forward-pass index of its most urgent tensor) is granted
// at once; ties go to the one waiting longest, then to the lowest rank. There is no gap and no
// warm-up: the link passes the moment it is free, so T_iter paces nothing. The deadline is
// round-robin's bound with a zero gap, max(window·push, min-window), from the books the rings
// keep (sched/window_rings.h: push is the mean of windows that ended in Done, raised by a
// window cut while its writer made progress). Requests of equal priority are served first come
// first served, and a holder revoked at its deadline queues again from that deadline behind
// those already waiting, so none of them starves; a less urgent request does wait while more
// urgent ones keep coming: that is the policy.
#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "sched/window_policy_type.h"
#include "sched/window_rings.h"

namespace gw::sched {
namespace {

bool AnyHolding(const WindowView& view) {
  return std::any_of(view.workers.begin(), view.workers.end(),
                     [](const WindowWorker& x) { return x.holding; });
}

// The waiting worker that goes first, or nullopt if nobody waits.
std::optional<uint32_t> MostUrgent(const WindowView& view) {
  std::optional<uint32_t> best;
  for (uint32_t w = 0; w < view.workers.size(); ++w) {
    const WindowWorker& x = view.workers[w];
    if (!x.waiting()) continue;
    // Ascending w: a later rank wins only with a strictly smaller (priority, queued).
    if (!best || std::pair(x.priority, x.queued) <
                     std::pair(view.workers[*best].priority, view.workers[*best].queued)) {
      best = w;
    }
  }
  return best;
}

// One ring of every worker keeps the bound's books; its turns are never used.
class GlobalPriority final : public RingPolicy {
 public:
  GlobalPriority(const WindowSpec& s, uint32_t n, Pacing pacing)
      : RingPolicy(WindowRings(s, std::vector<uint32_t>(n, 0), pacing)) {}

  std::unique_ptr<WindowPolicy> Clone() const override {
    return std::make_unique<GlobalPriority>(*this);
  }
  void Grant(const WindowView& view, TimePoint now, WindowOpener& opener) override {
    if (AnyHolding(view)) return;
    if (const std::optional<uint32_t> w = MostUrgent(view)) {
      opener.Open(*w, now + rings_.window_bound(*w));
    }
  }
  std::optional<TimePoint> NextGrant(const WindowView& view) const override {
    if (!AnyHolding(view) && AnyWaiting(view)) return view.last_seen;
    return std::nullopt;
  }
  // No gap: the link passes as soon as it is free, so T_iter neither paces nor bounds windows.
  void IterationTime(Duration t_iter) override {}
};

class GlobalPriorityType final : public WindowPolicyType {
 public:
  WindowKind kind() const override { return WindowKind::kGlobalPriority; }
  std::string_view name() const override { return "global-priority"; }
  std::string_view forms() const override { return "global-priority[:window=K,min-window=MS]"; }
  // Only the bound's keys: warmup and factor pace rings, and this policy has neither.
  void TakeKeys(SpecKeys& keys, WindowSpec* s) const override {
    if (keys.has("window")) s->window_gaps = keys.TakeDouble("window");
    if (keys.has("min-window")) s->min_window_ms = keys.TakeDouble("min-window");
  }
  std::string KeysToString(const WindowSpec& s) const override {
    return "window=" + FormatNumber(s.window_gaps) + ",min-window=" + FormatNumber(s.min_window_ms);
  }
  void CheckFields(const WindowSpec& s) const override { CheckRingFields(s); }
  std::unique_ptr<WindowPolicy> Make(const WindowSpec& s, uint32_t n,
                                     Pacing pacing) const override {
    return std::make_unique<GlobalPriority>(s, n, pacing);
  }
};

}  // namespace

const WindowPolicyType& GlobalPriorityPolicy() {
  static const GlobalPriorityType kType;
  return kType;
}

}  // namespace gw::sched
